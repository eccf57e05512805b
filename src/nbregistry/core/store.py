"""All SQL of the registry, written once (SQLite spelling, ``?`` placeholders) over an engine.

The engine (``core/engines/``: SQLite by default, PostgreSQL for ``postgresql://`` URLs) gives
connections per thread, a write transaction that waits for other writers, consistent read snapshots
and the schema; it adapts the few dialect differences. The store is the only place SQL is written.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from .engines import Engine


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class Store:
    """The metadata side of one registry, over a SQLite or PostgreSQL :class:`~.engines.Engine`."""

    def __init__(self, engine: Engine | Path | str):
        if not isinstance(engine, Engine):  # a path: that SQLite file (as before engines)
            from .engines.sqlite import SqliteEngine

            engine = SqliteEngine(Path(engine))
        self.engine = engine
        self.path = getattr(engine, "path", None)  # the SQLite file (None on PostgreSQL)
        # The registry's local folder: beside registry.db, or the working folder of a PostgreSQL registry.
        self.root = self.path.parent if self.path is not None else Path(engine.root)
        self._local = threading.local()
        # Called (with no arguments) after a write transaction that added events has committed;
        # the registry uses it to wake the webhook dispatcher. It must be cheap and never raise.
        self.on_events_committed = None
        engine.ensure_schema()

    # -- connections and transactions --------------------------------------------------------
    @property
    def conn(self):
        return self.engine.conn

    @property
    def dialect(self):
        """What search plans write differently on this engine (core/search_plan.py)."""
        return self.engine.dialect

    def close(self) -> None:
        self.engine.close()

    @contextmanager
    def write(self) -> Iterator:
        """A write transaction. Waits for other writers instead of failing."""
        self._local.new_events = False
        with self.engine.transaction() as conn:
            yield conn
        if self._local.new_events and self.on_events_committed is not None:
            self._local.new_events = False
            self.on_events_committed()

    @contextmanager
    def read(self) -> Iterator:
        """A consistent snapshot for several SELECTs."""
        with self.engine.snapshot() as conn:
            yield conn

    def schema_version(self) -> int:
        return self.engine.schema_version()

    def explain(self, sql: str, args) -> list[str]:
        return self.engine.explain(sql, args)

    # -- events ------------------------------------------------------------------------------
    def add_event(self, conn, *, actor: str, origin: str, action: str, model: str | None,
                  version: int | None = None, payload: dict | None = None, time_: str | None = None) -> int:
        ref = None if model is None else (f"{model}:{version}" if version is not None else model)
        self._local.new_events = True
        cur = conn.execute(
            "INSERT INTO events (time, actor, origin, action, model, version, ref, payload) VALUES (?,?,?,?,?,?,?,?)",
            (time_ or now_iso(), actor, origin, action, model, version, ref, dumps(payload or {})),
        )
        return cur.lastrowid

    def events(self, *, since: int = 0, model: str | None = None, actions: Iterable[str] | None = None,
               after_time: str | None = None, limit: int = 1000, newest_first: bool = False,
               conn=None) -> list:
        """Events after id ``since``, optionally of one model, of some actions, at/after a time."""
        sql = "SELECT * FROM events WHERE id > ?"
        args: list = [since]
        if isinstance(model, (list, tuple)):  # a model and its earlier names (renames)
            sql += f" AND model COLLATE NOCASE IN ({','.join('?' * len(model))})"
            args += list(model)
        elif model is not None:
            sql += " AND model = ? COLLATE NOCASE"
            args.append(model)
        if after_time is not None:
            sql += " AND time >= ?"
            args.append(after_time)
        if actions:
            actions = list(actions)
            sql += f" AND action IN ({','.join('?' * len(actions))})"
            args += actions
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?"
        args.append(limit)
        return (conn or self.conn).execute(sql, args).fetchall()

    def last_event_id(self, conn=None) -> int:
        """The newest event's id (0 when there is none): where a live feed starts "from now"."""
        return (conn or self.conn).execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    # -- models ------------------------------------------------------------------------------
    MODEL_SELECT = """
        SELECT m.*,
          (SELECT COUNT(*) FROM versions v WHERE v.model_id = m.id) AS version_count,
          (SELECT v.version FROM versions v WHERE v.model_id = m.id AND v.status = 'active'
           ORDER BY v.version DESC LIMIT 1) AS latest_version
        FROM models m"""

    def model_row(self, name: str, conn=None, *, counts: bool = False) -> Any:
        """A model by name (case-insensitive). ``counts`` adds version_count and latest_version, which
        cost a scan of the model's versions; resolving refs does without them, so it stays O(1)."""
        select = self.MODEL_SELECT if counts else "SELECT m.* FROM models m"
        return (conn or self.conn).execute(select + " WHERE m.name = ?", (name,)).fetchone()

    # Sort keys of list_model_rows: column -> SQL expression (NULLs sort last either way).
    MODEL_ORDER = {
        "name": "m.name COLLATE NOCASE",
        "latest": "(SELECT MAX(v.version) FROM versions v WHERE v.model_id = m.id AND v.status = 'active')",
        "versions": "(SELECT COUNT(*) FROM versions v WHERE v.model_id = m.id)",
        # the newest version's time: numbers are allocated in the transaction that stamps the time, so
        # the highest number is the newest, and the (model_id, version) index answers without a scan
        "updated": "(SELECT v.created_at FROM versions v WHERE v.model_id = m.id ORDER BY v.version DESC LIMIT 1)",
        "owner": "m.created_by COLLATE NOCASE",
        "aliases": "(SELECT COUNT(*) FROM aliases a WHERE a.model_id = m.id)",
        "metric": ("(SELECT mt.value FROM versions v JOIN metrics mt ON mt.version_id = v.id AND mt.key = ?"
                   " WHERE v.model_id = m.id AND v.status = 'active' ORDER BY v.version DESC LIMIT 1)"),
    }

    def list_model_rows(self, *, q: str | None, archived: bool, limit: int, offset: int,
                        order: str = "name", metric: str | None = None) -> tuple[list, int]:
        """Models in ``order``; ``q`` matches (case-insensitively, as a substring) the name, the
        description, or a tag's key or value."""
        where, args = ["1"], []
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(m.name LIKE ? ESCAPE '\\' OR m.description LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1"
                         " FROM model_tags t WHERE t.model_id = m.id AND (t.key LIKE ? ESCAPE '\\'"
                         " OR t.value LIKE ? ESCAPE '\\')))")
            args += [like] * 4
        if not archived:
            where.append("m.archived = 0")
        clause = " WHERE " + " AND ".join(where)
        with self.read() as conn:
            column, descending = order.lstrip("-"), order.startswith("-")
            expr, order_args = self.MODEL_ORDER[column], ([metric] if column == "metric" else [])
            extra, extra_args = "", []
            if metric is not None:  # the chosen metric of each model's latest active version
                extra, extra_args = f", {self.MODEL_ORDER['metric']} AS latest_metric", [metric]
            select = self.MODEL_SELECT.replace(
                "\n        FROM models m",
                f", {self.MODEL_ORDER['updated']} AS updated_at"
                + extra + "\n        FROM models m")
            rows = conn.execute(select + clause + f" ORDER BY ({expr}) IS NULL, {expr} {'DESC' if descending else 'ASC'},"
                                " m.name COLLATE NOCASE LIMIT ? OFFSET ?",
                                extra_args + args + order_args * 2 + [limit, offset]).fetchall()
            total = conn.execute("SELECT COUNT(*) FROM models m" + clause, args).fetchone()[0]
        return rows, total

    def create_model(self, conn, name: str, actor: str, description: str = "") -> int:
        cur = conn.execute("INSERT INTO models (name, description, created_at, created_by) VALUES (?,?,?,?)",
                           (name, description, now_iso(), actor))
        return cur.lastrowid

    def model_tags(self, model_ids: list[int], conn=None) -> dict[int, dict]:
        out: dict[int, dict] = {i: {} for i in model_ids}
        for chunk in _chunks(model_ids):
            for r in (conn or self.conn).execute(
                    f"SELECT model_id, key, value FROM model_tags WHERE model_id IN ({_qs(chunk)})", chunk):
                out[r["model_id"]][r["key"]] = r["value"]
        return out

    def model_aliases(self, model_ids: list[int], conn=None) -> dict[int, dict]:
        out: dict[int, dict] = {i: {} for i in model_ids}
        for chunk in _chunks(model_ids):
            for r in (conn or self.conn).execute(
                    f"SELECT a.model_id, a.alias, v.version FROM aliases a JOIN versions v ON v.id = a.version_id"
                    f" WHERE a.model_id IN ({_qs(chunk)}) ORDER BY a.alias", chunk):
                out[r["model_id"]][r["alias"]] = r["version"]
        return out

    def update_model(self, conn, model_id: int, *, description=None, archived=None) -> None:
        if description is not None:
            conn.execute("UPDATE models SET description = ? WHERE id = ?", (description, model_id))
        if archived is not None:
            conn.execute("UPDATE models SET archived = ? WHERE id = ?", (int(archived), model_id))

    def set_tags(self, conn, table: str, owner_col: str, owner_id: int, tags: dict) -> None:
        assert table in ("model_tags", "version_tags") and owner_col in ("model_id", "version_id")
        for key, value in tags.items():
            if value is None:
                conn.execute(f"DELETE FROM {table} WHERE {owner_col} = ? AND key = ?", (owner_id, key))
            else:
                conn.execute(f"INSERT INTO {table} ({owner_col}, key, value) VALUES (?,?,?)"
                             f" ON CONFLICT ({owner_col}, key) DO UPDATE SET value = excluded.value",
                             (owner_id, key, value))

    # -- versions ----------------------------------------------------------------------------
    VERSION_COLUMNS = ("v.id, v.model_id, m.name, v.version, v.created_at, v.author, v.description, v.status,"
                       " v.flavor, v.flavor_meta, v.artifact_sha, v.artifact_size, v.signature, v.input_example_sha,"
                       " v.identity, v.claimed_by")

    def version_row(self, model_id: int, version: int, *, lineage: bool = True, conn=None) -> Any:
        cols = self.VERSION_COLUMNS + (", v.lineage" if lineage else "")
        return (conn or self.conn).execute(
            f"SELECT {cols} FROM versions v JOIN models m ON m.id = v.model_id WHERE v.model_id = ? AND v.version = ?",
            (model_id, version)).fetchone()

    def latest_version(self, model_id: int, conn=None) -> int | None:
        return (conn or self.conn).execute(
            "SELECT COALESCE((SELECT version FROM versions WHERE model_id = ? AND status = 'active'"
            " ORDER BY version DESC LIMIT 1), NULL)", (model_id,)).fetchone()[0]

    def alias_target(self, model_id: int, alias: str, conn=None) -> int | None:
        row = (conn or self.conn).execute(
            "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = ? AND a.alias = ?",
            (model_id, alias)).fetchone()
        return None if row is None else row[0]

    def fetch_versions(self, where: str, args: list, *, order: str = "v.version DESC", order_args: list = (),
                       limit: int = 100, offset: int = 0, lineage: bool = False, evaluations: bool = False,
                       conn=None):
        """Versions matching ``where`` plus their metrics, params, tags and aliases, from one snapshot.

        Returns ``(rows, facts)``: rows in order, and ``{version id: {"metrics", "params", "tags",
        "aliases"}}``. Values keep full float precision (no JSON aggregation in SQL). With
        ``evaluations``, facts also hold ``"evaluations"``: ``{dataset: {"id", "fingerprint", "metrics"}}``,
        the latest evaluation per dataset name.
        """
        with self._snapshot(conn) as conn:  # one snapshot for the page and its facts
            # The page is cut first: an index walk that stops at LIMIT (no numbering of every match).
            ids = [r[0] for r in conn.execute(
                f"SELECT v.id FROM versions v JOIN models m ON m.id = v.model_id WHERE {where}"
                f" ORDER BY {order} LIMIT ? OFFSET ?", [*args, *order_args, limit, offset])]
            rows, facts = self.versions_by_id(ids, lineage=lineage, evaluations=evaluations, conn=conn)
        position = {vid: i for i, vid in enumerate(ids)}
        rows.sort(key=lambda r: position[r["id"]])
        return rows, facts

    @contextmanager
    def _snapshot(self, conn=None) -> Iterator:
        """``conn`` when it is inside a transaction already, else a read transaction (:meth:`read`)."""
        if conn is not None and conn.in_transaction:
            yield conn
            return
        with self.read() as own:
            yield own

    def versions_by_id(self, ids: list[int], *, lineage: bool = False, evaluations: bool = False, conn=None):
        """``(rows, facts)`` as :meth:`fetch_versions` gives them, for known version ids (rows in id
        order). A plain lookup per table through its ``version_id`` key: cheaper than one statement
        that pads every table's rows to a common shape."""
        if not ids:
            return [], {}
        ids = sorted(set(ids))
        facts = {vid: {"metrics": {}, "params": {}, "tags": {}, "aliases": []} for vid in ids}
        rows = []
        with self._snapshot(conn) as conn:
            for chunk in _chunks(ids):
                marks = _qs(chunk)
                rows += conn.execute(
                    f"SELECT {self.VERSION_COLUMNS}, {'v.lineage' if lineage else 'NULL'} AS lineage"
                    f" FROM versions v JOIN models m ON m.id = v.model_id WHERE v.id IN ({marks}) ORDER BY v.id",
                    chunk).fetchall()
                for part, table in (("metrics", "metrics"), ("params", "params"), ("tags", "version_tags")):
                    for vid, key, value in conn.execute(
                            f"SELECT version_id, key, value FROM {table} WHERE version_id IN ({marks})", chunk):
                        facts[vid][part][key] = value
                for vid, alias in conn.execute(
                        f"SELECT version_id, alias FROM aliases WHERE version_id IN ({marks})", chunk):
                    facts[vid]["aliases"].append(alias)
                if evaluations:
                    for vid, eid, dataset, fingerprint, key, value in conn.execute(
                            "SELECT e.version_id, e.id, e.dataset, e.fingerprint, em.key, em.value FROM evaluations e"
                            f" JOIN evaluation_metrics em ON em.evaluation_id = e.id WHERE e.version_id IN ({marks})",
                            chunk):
                        latest = facts[vid].setdefault("evaluations", {})
                        current = latest.get(dataset)
                        if current is None or eid > current["id"]:
                            latest[dataset] = current = {"id": eid, "fingerprint": fingerprint, "metrics": {}}
                        if eid == current["id"]:
                            current["metrics"][key] = value
        found = {r["id"] for r in rows}
        return rows, {vid: f for vid, f in facts.items() if vid in found}

    def search_page(self, query, limit: int, offset: int, conn=None) -> tuple[list[int], int, bool]:
        """``(version ids of the page, total, capped)`` for a :class:`~.search_plan.SearchQuery`:
        the count through its most selective driving index, then the page by the cheaper plan."""
        from .search_plan import COUNT_CAP

        conn = conn or self.conn

        def one(statement):
            return conn.execute(*statement).fetchone()[0]

        def ids(statement):
            return [r[0] for r in conn.execute(*statement)]

        driver = query.drivers[0] if query.drivers else None
        if len(query.drivers) > 1:  # the most selective one drives (a capped count of index entries each)
            driver = query.drivers[min((one(query.estimate_sql(d)), i) for i, d in enumerate(query.drivers))[1]]
        total = one(query.count_sql(driver))
        capped, total = total > COUNT_CAP, min(total, COUNT_CAP)
        if query.few(total, one(("SELECT COUNT(*) FROM versions", [])), limit, offset):
            return ids(query.few_sql(driver, limit, offset)), total, capped
        page = ids(query.many_sql(limit, offset))
        if query.ordered_metric() is not None and len(page) < limit:  # then versions lacking the metric
            holding = offset + len(page) if page else one(query.holding_count_sql())
            page += ids(query.lacking_sql(limit - len(page), max(0, offset - holding)))
        return page, total, capped

    def count_versions(self, where: str, args: list, conn=None) -> int:
        return (conn or self.conn).execute(
            f"SELECT COUNT(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE {where}", args).fetchone()[0]

    def insert_version(self, conn, model_id: int, *, author: str, description: str, flavor: str,
                       flavor_meta: dict, artifact_sha: str, artifact_size: int, signature: dict | None,
                       input_example_sha: str | None, lineage: dict, metrics: dict, params: dict,
                       tags: dict, blobs: Iterable[str], created_at: str, identity: str = "local",
                       claimed_by: str | None = None, environment_sha: str | None = None) -> tuple[int, int]:
        number = conn.execute("UPDATE models SET last_version = last_version + 1 WHERE id = ? RETURNING last_version",
                              (model_id,)).fetchone()[0]
        cur = conn.execute(
            "INSERT INTO versions (model_id, version, created_at, author, description, flavor, flavor_meta,"
            " artifact_sha, artifact_size, signature, input_example_sha, lineage, identity, claimed_by,"
            " environment_sha) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (model_id, number, created_at, author, description, flavor, dumps(flavor_meta), artifact_sha,
             artifact_size, None if signature is None else dumps(signature), input_example_sha, dumps(lineage),
             identity, claimed_by, environment_sha))
        vid = cur.lastrowid
        conn.executemany("INSERT INTO metrics (version_id, key, value) VALUES (?,?,?)",
                         [(vid, k, v) for k, v in metrics.items()])
        conn.executemany("INSERT INTO params (version_id, key, value) VALUES (?,?,?)",
                         [(vid, k, v) for k, v in params.items()])
        conn.executemany("INSERT INTO version_tags (version_id, key, value) VALUES (?,?,?)",
                         [(vid, k, v) for k, v in tags.items()])
        conn.executemany("INSERT OR IGNORE INTO version_blobs (version_id, sha) VALUES (?,?)",
                         [(vid, s) for s in set(blobs)])
        return vid, number

    def update_version(self, conn, version_id: int, *, description=None, status=None) -> None:
        if description is not None:
            conn.execute("UPDATE versions SET description = ? WHERE id = ?", (description, version_id))
        if status is not None:
            conn.execute("UPDATE versions SET status = ? WHERE id = ?", (status, version_id))

    def delete_version(self, conn, version_id: int) -> None:
        conn.execute("DELETE FROM versions WHERE id = ?", (version_id,))

    def version_ids(self, model_id: int, conn=None) -> list[int]:
        return [r[0] for r in (conn or self.conn).execute("SELECT id FROM versions WHERE model_id = ?", (model_id,))]

    def version_numbers(self, model_id: int, conn=None) -> list[int]:
        return [r[0] for r in (conn or self.conn).execute(
            "SELECT version FROM versions WHERE model_id = ? ORDER BY version", (model_id,))]

    def version_blob_shas(self, version_id: int, conn=None) -> list[str]:
        return [r[0] for r in (conn or self.conn).execute("SELECT sha FROM version_blobs WHERE version_id = ?",
                                                          (version_id,))]

    def version_authors(self, model_id: int, version: int, conn=None):
        """``author`` and ``claimed_by`` of one version (a row), or None."""
        return (conn or self.conn).execute("SELECT author, claimed_by FROM versions WHERE model_id = ? AND version = ?",
                                           (model_id, version)).fetchone()

    def flavor_meta(self, model_id: int, version: int, conn=None) -> dict:
        row = (conn or self.conn).execute("SELECT flavor_meta FROM versions WHERE model_id = ? AND version = ?",
                                          (model_id, version)).fetchone()
        return json.loads(row["flavor_meta"])

    def aliases_of_version(self, version_id: int, conn=None) -> list[str]:
        return [r[0] for r in (conn or self.conn).execute(
            "SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias", (version_id,))]

    # -- aliases -----------------------------------------------------------------------------
    def move_alias(self, conn, *, model_id: int, alias: str, version_id: int | None, version: int | None,
                   previous: int | None, actor: str, reason: str | None, kind: str, forced: bool,
                   report: dict | None, event_id: int, time_: str) -> int:
        if version_id is None:
            conn.execute("DELETE FROM aliases WHERE model_id = ? AND alias = ?", (model_id, alias))
        else:
            conn.execute(
                "INSERT INTO aliases (model_id, alias, version_id, updated_at, updated_by) VALUES (?,?,?,?,?)"
                " ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id,"
                " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                (model_id, alias, version_id, time_, actor))
        cur = conn.execute(
            "INSERT INTO alias_moves (model_id, alias, version, previous, time, actor, reason, kind, forced, report, event_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (model_id, alias, version, previous, time_, actor, reason, kind, int(forced),
             None if report is None else dumps(report), event_id))
        return cur.lastrowid

    def alias_moves(self, model_id: int, alias: str | None = None, *, before: str | None = None,
                    conn=None) -> list:
        sql = ("SELECT am.*, m.name AS model FROM alias_moves am JOIN models m ON m.id = am.model_id"
               " WHERE am.model_id = ?")
        args: list = [model_id]
        if alias is not None:
            sql += " AND am.alias = ?"
            args.append(alias)
        if before is not None:
            sql += " AND am.time <= ?"
            args.append(before)
        return (conn or self.conn).execute(sql + " ORDER BY am.id", args).fetchall()

    # -- blobs -------------------------------------------------------------------------------
    def referenced_blobs(self, conn=None) -> set[str]:
        return {r[0] for r in (conn or self.conn).execute(
            "SELECT sha FROM version_blobs UNION SELECT environment_sha FROM versions"
            " WHERE environment_sha IS NOT NULL")}

    def check_database(self, *, full: bool) -> list[str]:
        """The engine's own check (SQLite: ``quick_check``; ``integrity_check`` when ``full``): problems, or []."""
        return self.engine.check_database(full=full)

    def verify_rows(self, conn=None) -> tuple[list, dict]:
        """Every version with what verify compares (hashes, size, flavor metadata), and the blobs
        ``version_blobs`` records for each (``{version id: set of sha}``)."""
        conn = conn or self.conn
        rows = conn.execute(
            "SELECT v.id, m.name, v.version, v.artifact_sha, v.artifact_size, v.input_example_sha, v.environment_sha,"
            " v.flavor_meta"
            " FROM versions v JOIN models m ON m.id = v.model_id ORDER BY m.name, v.version").fetchall()
        blobs: dict = {}
        for vid, sha in conn.execute("SELECT version_id, sha FROM version_blobs"):
            blobs.setdefault(vid, set()).add(sha)
        return rows, blobs

    def blob_rows(self, conn=None) -> list:
        """Every version's manifest and example blob, for verify."""
        return (conn or self.conn).execute(
            "SELECT m.name, v.version, v.artifact_sha, v.input_example_sha, v.environment_sha FROM versions v"
            " JOIN models m ON m.id = v.model_id ORDER BY m.name, v.version").fetchall()


def _qs(items: list) -> str:
    return ",".join("?" * len(items))


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
