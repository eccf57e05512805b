"""What the PostgreSQL engine adds beyond the behavioural suite (which runs on kind "pg-s3" too):
choosing the database, its schema and migrations, writers in several processes serializing on one
database (as replicas do), crash safety and gc's protocol with PostgreSQL + S3."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from nbregistry import Registry
from nbregistry.core import migrations
from nbregistry.core.errors import NotFound, SchemaTooNew, ValidationError


def _raw(url):
    import psycopg

    return psycopg.connect(url, autocommit=True)


# -- choosing the database -----------------------------------------------------------------------
def test_db_chooses_postgresql_and_root_stays_the_working_folder(tmp_path, pg_url):
    reg = Registry(tmp_path / "work", db=pg_url, author="alice")
    f = tmp_path / "w.bin"
    f.write_bytes(b"weights")
    reg.register(f, "churn")
    reg.close()
    assert not (tmp_path / "work" / "registry.db").exists()  # the metadata is in PostgreSQL
    with _raw(pg_url) as conn:
        assert conn.execute("SELECT m.name, v.version FROM versions v JOIN models m ON m.id = v.model_id").fetchall() \
            == [("churn", 1)]
    again = Registry(tmp_path / "elsewhere", db=pg_url, objects=str(tmp_path / "work"))  # blobs stay in work/
    assert again.load("churn:1").read_bytes() == b"weights"
    again.close()


def test_nbregistry_db_environment_variable(tmp_path, pg_url, monkeypatch):
    monkeypatch.setenv("NBREGISTRY_DB", pg_url)
    reg = Registry(tmp_path / "work")
    assert reg.store.engine.name == "postgresql"
    reg.close()
    monkeypatch.setenv("NBREGISTRY_DB", f"sqlite://{tmp_path / 'meta.db'}")
    reg = Registry(tmp_path / "work2")
    assert reg.store.engine.name == "sqlite" and (tmp_path / "meta.db").exists()
    reg.close()


def test_an_unknown_database_url_is_a_one_line_error(tmp_path):
    with pytest.raises(ValidationError, match="unknown database 'mysql://x'"):
        Registry(tmp_path / "r", db="mysql://x")
    with pytest.raises(ValidationError, match="sqlite:///absolute"):
        Registry(tmp_path / "r", db="sqlite://relative.db")


def test_an_unreachable_server_names_the_database_without_its_password(tmp_path, postgres_server):
    from nbregistry.core.errors import RegistryError

    url = "postgresql://nbregistry:s3cret@127.0.0.1:1/nothing"
    with pytest.raises(RegistryError, match="cannot connect to the registry database") as info:
        Registry(tmp_path / "r", db=url)
    assert "s3cret" not in str(info.value) and "***" in str(info.value)


def test_read_only_faces_do_not_create_a_schema_in_an_empty_database(tmp_path, pg_url):
    with pytest.raises(NotFound, match="no registry"):
        Registry(tmp_path / "r", db=pg_url, create=False)
    with _raw(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('versions')").fetchone()[0] is None


def test_psycopg_is_imported_only_for_a_postgresql_registry(tmp_path, pg_url):
    code = ("import sys, nbregistry as nr; nr.Registry(sys.argv[1], db=sys.argv[2] or None);"
            "print('psycopg' in sys.modules)")
    run = lambda db: subprocess.run([sys.executable, "-c", code, str(tmp_path / "r"), db], capture_output=True,  # noqa: E731
                                    text=True, check=True).stdout.strip()
    assert run("") == "False"
    assert run(pg_url) == "True"


# -- schema ----------------------------------------------------------------------------------------
def test_migrations_come_from_the_same_description_as_sqlites(tmp_path, pg_url):
    Registry(tmp_path / "r", db=pg_url).close()
    with _raw(pg_url) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM nbregistry_migrations ORDER BY applied_at, name")]
        version = conn.execute("SELECT version FROM nbregistry_schema").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert sorted(applied) == sorted(migrations.MIGRATION_NAMES) and version == migrations.SCHEMA_VERSION
    sqlite_reg = Registry(tmp_path / "s")
    sqlite_tables = {r[0] for r in sqlite_reg.store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    sqlite_reg.close()
    assert sqlite_tables - {"_sqlite_migrations"} == tables - {"nbregistry_migrations", "nbregistry_schema"}


def test_a_schema_from_a_newer_nbregistry_is_refused(tmp_path, pg_url):
    Registry(tmp_path / "r", db=pg_url).close()
    with _raw(pg_url) as conn:
        conn.execute("UPDATE nbregistry_schema SET version = version + 1")
    with pytest.raises(SchemaTooNew, match="newer nbregistry"):
        Registry(tmp_path / "r", db=pg_url)


def test_processes_opening_a_fresh_database_at_once_migrate_it_once(tmp_path, pg_url):
    code = "import sys, nbregistry as nr; nr.Registry(sys.argv[1], db=sys.argv[2]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"r{i}"), pg_url], stderr=subprocess.PIPE)
             for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0], [p.stderr.read() for p in procs]
    with _raw(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM nbregistry_migrations").fetchone()[0] == len(migrations.MIGRATION_NAMES)


def test_names_are_unique_and_found_regardless_of_case(tmp_path, pg_registry_url):
    reg = Registry(tmp_path / "r", db=pg_registry_url, author="alice")
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    reg.register(f, "Churn")
    assert reg.register(f, "CHURN").ref == "Churn:2"  # the same model, under the name it was created with
    reg.set_alias("churn:1", "Production")
    assert reg.get("churn@production").version == 1
    assert [m.name for m in reg.list_models(q="HUR")] == ["Churn"]
    reg.close()


# -- writers in several processes (replicas share one database) ------------------------------------
def _register_many(root: str, db: str, objects: str, worker: int, count: int, queue) -> None:
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    reg = Registry(root, db=db, objects=objects, author=f"worker{worker}")
    errors = []
    for i in range(count):
        try:
            reg.register({"worker": worker, "i": i}, "shared", flavor="pickle", metrics={"i": i})
        except Exception as exc:  # reported to the parent, which fails the test
            errors.append(repr(exc))
    queue.put(errors)


def test_four_processes_on_one_database_register_without_gaps(tmp_path, pg_registry_url, s3_url, s3_endpoint):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_register_many,
                         args=(str(tmp_path / f"replica{w}"), pg_registry_url, s3_url, w, 30, queue))
             for w in range(4)]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in queue.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
    assert errors == []
    reg = Registry(tmp_path / "reader", db=pg_registry_url, objects=s3_url)
    versions = reg.list_versions("shared", limit=1000)
    assert sorted(v.version for v in versions) == list(range(1, 121))
    assert sorted(e.version for e in reg.events(limit=10_000) if e.action == "version.registered") == \
        list(range(1, 121))  # each version's event committed with it, none twice
    assert reg.verify().ok
    reg.close()


def test_racing_alias_moves_serialize_with_the_right_previous_holders(tmp_path, pg_registry_url):
    import threading

    reg = Registry(tmp_path / "r", db=pg_registry_url, author="alice")
    f = tmp_path / "w.bin"
    for i in range(5):
        f.write_bytes(b"w%d" % i)
        reg.register(f, "m")
    regs = [Registry(tmp_path / f"r{i}", db=pg_registry_url, author=f"u{i}", objects=str(tmp_path / "r"))
            for i in range(4)]
    errors: list = []

    def move(r, i):
        try:
            for j in range(10):
                r.set_alias(f"m:{(i + j) % 5 + 1}", "production")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(r, i)) for i, r in enumerate(regs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    moves = list(reg.history("m", "production"))
    assert len(moves) == 40
    for before, after in zip(moves, moves[1:]):  # each move saw the holder the one before it left
        assert after.previous == before.version
    assert reg.get("m@production").version == moves[-1].version
    for r in [reg, *regs]:
        r.close()


CRASH_SCRIPT = """
import os, sys
import nbregistry as nr
reg = nr.Registry(sys.argv[1], db=sys.argv[4], objects=sys.argv[5], author="crash")
payload = os.urandom(int(sys.argv[2]))
i = 0
while True:
    i += 1
    path = os.path.join(sys.argv[3], f"a{i % 3}.bin")
    with open(path, "wb") as f:
        f.write(payload[: len(payload) - i % 1000] + i.to_bytes(8, "little"))
    reg.register(path, "crashy", metrics={"i": i})
    print(i, flush=True)
"""


def test_sigkill_at_random_points_leaves_whole_versions_on_postgres_and_s3(tmp_path, pg_registry_url, s3_url):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    rng = random.Random(4321)
    for kill in range(8):
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "writer"), str(1 << 20), str(scratch),
                                 pg_registry_url, s3_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout.readline(), proc.stderr.read().decode()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reg = Registry(tmp_path / "reader", db=pg_registry_url, objects=s3_url)
        report = reg.verify(fast=True)
        assert report.ok, f"after kill {kill}: {report.problems}"
        reg.close()
    reg = Registry(tmp_path / "reader", db=pg_registry_url, objects=s3_url)
    count = reg.list_versions("crashy", limit=10_000).total
    assert count > 0
    assert sorted(v.version for v in reg.list_versions("crashy", limit=10_000)) == list(range(1, count + 1))
    with _raw(pg_registry_url) as conn:  # a killed writer's transaction left no lock behind
        assert conn.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0
    reg.gc(grace=0)
    assert reg.verify().ok
    assert reg.load(f"crashy:{count}").stat().st_size > (1 << 20) - 1000
    reg.close()


def test_gc_between_staging_and_commit_never_leaves_a_version_without_blobs(tmp_path, pg_registry_url, s3_url,
                                                                           monkeypatch):
    """The blobs a registration stored outside the lock are removed by a gc (grace 0) on another
    replica before its metadata transaction: the commit sees that under the advisory lock and stores
    them again."""
    reg = Registry(tmp_path / "r", db=pg_registry_url, objects=s3_url, author="alice")
    other = Registry(tmp_path / "gc", db=pg_registry_url, objects=s3_url)
    real_commit = Registry.commit_staged
    removed = []

    def commit_after_gc(self, staged):
        removed.append(other.gc(grace=0).removed_blobs)  # runs between staging and the metadata transaction
        return real_commit(self, staged)

    monkeypatch.setattr(Registry, "commit_staged", commit_after_gc)
    f = tmp_path / "w.bin"
    f.write_bytes(b"racing weights")
    version = reg.register(f, "racer")
    monkeypatch.undo()
    assert removed[0] >= 2 and version.ref == "racer:1"  # the file and its manifest were taken, then restored
    assert reg.verify().ok
    assert other.load("racer:1").read_bytes() == b"racing weights"
    reg.close()
    other.close()


def test_statements_without_parameters_keep_their_percent_signs(tmp_path, pg_registry_url):
    """The rewritten text doubles '%' for the driver; a statement without parameters still means one '%'."""
    reg = Registry(tmp_path / "r", db=pg_registry_url)
    conn = reg.store.conn
    assert conn.execute("SELECT 'webhook.x' LIKE 'webhook.%'").fetchone()[0] is True
    assert conn.execute("SELECT 'a%b'").fetchone()[0] == "a%b"
    assert conn.execute("SELECT 7 % 4").fetchone()[0] == 3
    assert conn.execute("SELECT ? || '%'", ("50",)).fetchone()[0] == "50%"
    reg.close()
