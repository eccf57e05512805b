"""Fill a registry with many versions quickly, for the read benchmarks (bench_core.py).

``seed(root, models=10, per_model=10_000)`` registers one real version (so every row points at a
real artifact and a real lineage record) and then copies it with plain SQL: ``per_model`` versions
of each of ``models`` models, each with metrics ``auc`` and ``loss``, two params, one tag and one
``version.registered`` event. Registering 100,000 versions one by one would take minutes; the rows
are the same shape the registry writes, so reads behave the same.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path


def seed(root: Path, *, models: int = 10, per_model: int = 10_000, rng_seed: int = 7) -> list[str]:
    from nbregistry import Registry

    reg = Registry(root, author="bench")
    src = Path(root) / "seed.bin"
    src.write_bytes(b"seed weights")
    first = reg.register(str(src), "seed-0", flavor="file", metrics={"auc": 0.5, "loss": 0.5})
    src.unlink()
    reg.close()
    rng = random.Random(rng_seed)
    conn = sqlite3.connect(Path(root) / "registry.db", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    tmpl = conn.execute("SELECT * FROM versions WHERE id = (SELECT MIN(id) FROM versions)").fetchone()
    cols = [d[0] for d in conn.execute("SELECT * FROM versions LIMIT 0").description]
    row = dict(zip(cols, tmpl))
    blob_shas = [r[0] for r in conn.execute("SELECT sha FROM version_blobs WHERE version_id = ?", (row["id"],))]
    names = [f"seed-{i}" for i in range(models)]
    conn.execute("BEGIN")
    model_ids = {}
    for name in names:
        got = conn.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()
        if got is None:
            got = (conn.execute("INSERT INTO models (name, description, created_at, created_by) VALUES (?,?,?,?)",
                                (name, f"benchmark model {name}", row["created_at"], "bench")).lastrowid,)
        model_ids[name] = got[0]
    conn.execute("DELETE FROM versions WHERE id = ?", (row["id"],))  # re-added as seed-0:1 below
    conn.execute("DELETE FROM metrics WHERE version_id = ?", (row["id"],))
    conn.execute("DELETE FROM version_blobs WHERE version_id = ?", (row["id"],))
    next_id = row["id"]
    insert_cols = [c for c in cols if c != "id"]
    sql = f"INSERT INTO versions (id, {', '.join(insert_cols)}) VALUES ({', '.join('?' * (len(insert_cols) + 1))})"
    versions, metrics, params, tags, blobs, events = [], [], [], [], [], []
    stamp = 0
    for number in range(1, per_model + 1):
        for name in names:
            stamp += 1
            created = f"2026-{1 + stamp // 500_000:02d}-01T00:00:00.{stamp:06d}Z"
            values = {**row, "model_id": model_ids[name], "version": number, "created_at": created}
            versions.append([next_id, *(values[c] for c in insert_cols)])
            metrics += [(next_id, "auc", rng.random()), (next_id, "loss", rng.random())]
            params += [(next_id, "depth", str(rng.randint(1, 12))), (next_id, "lr", str(rng.choice([0.1, 0.01])))]
            tags.append((next_id, "batch", str(number // 100)))
            blobs += [(next_id, s) for s in blob_shas]
            events.append((created, "bench", "api", "version.registered", name, number, f"{name}:{number}", "{}"))
            next_id += 1
    conn.executemany(sql, versions)
    conn.executemany("INSERT INTO metrics (version_id, key, value) VALUES (?,?,?)", metrics)
    conn.executemany("INSERT INTO params (version_id, key, value) VALUES (?,?,?)", params)
    conn.executemany("INSERT INTO version_tags (version_id, key, value) VALUES (?,?,?)", tags)
    conn.executemany("INSERT OR IGNORE INTO version_blobs (version_id, sha) VALUES (?,?)", blobs)
    conn.executemany("INSERT INTO events (time, actor, origin, action, model, version, ref, payload)"
                     " VALUES (?,?,?,?,?,?,?,?)", events)
    for name in names:
        conn.execute("UPDATE models SET last_version = ? WHERE id = ?", (per_model, model_ids[name]))
    conn.execute("COMMIT")
    conn.close()
    del first
    return names
