"""Environment records as content-addressed blobs (see lineage.split_environment).

A registration stores its environment (Python, platform, installed packages) as one blob in the
object store, named by its sha256, in ``versions.environment_sha``; ``gc`` keeps every blob a
version names there (as well as those in ``version_blobs``) and ``verify`` checks it. Identical environments -
every version registered from one kernel - are stored once. Reading a version's lineage joins the
blob back in; blobs are immutable, so parsed ones are cached per process.

Migration ``m005_environments`` (:func:`migrate`) moves the inline environments of older
registries into blobs.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from . import lineage as lineage_mod
from .errors import IntegrityError, NotFound
from .objects import BlobStore, ObjectStore

CACHE_SIZE = 64

ENVIRONMENT_DDL = """
ALTER TABLE versions ADD COLUMN environment_sha TEXT;
CREATE INDEX metrics_key_value_version ON metrics (key, value, version_id);
"""


class EnvironmentBlobs:
    """Store and read environment blobs of one object store."""

    def __init__(self, objects: BlobStore):
        self.objects = objects
        self._cache: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def store(self, lineage: dict, *, rewrite: bool = False) -> tuple[dict, str | None]:
        """``(lineage as stored, environment sha or None)``; writes the blob unless it exists
        (``rewrite``: even then, which refreshes its age for gc's grace period)."""
        stored, data = lineage_mod.split_environment(lineage)
        if data is None:
            return stored, None
        sha = lineage_mod.environment_sha(stored)
        if rewrite or not self.objects.exists(sha):
            self.objects.put_bytes(data)
        return stored, sha

    def read(self, sha: str) -> dict | None:
        with self._lock:
            if sha in self._cache:
                self._cache.move_to_end(sha)
                return self._cache[sha]
        try:
            env = json.loads(self.objects.read_bytes(sha))
        except (NotFound, IntegrityError, ValueError, OSError):
            return None  # verify reports the missing or damaged blob; the lineage shows no packages
        with self._lock:
            self._cache[sha] = env
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return env

    def join(self, stored: dict) -> dict:
        return lineage_mod.join_environment(stored, self.read)


def migrate(db) -> None:
    """m005_environments: add ``versions.environment_sha`` and move every inline environment into a blob."""
    conn = db.conn
    for statement in ENVIRONMENT_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    if conn.execute("SELECT 1 FROM versions LIMIT 1").fetchone() is None:
        return  # nothing to move (a new registry, or a new PostgreSQL database)
    from .migrations import root_of

    root = root_of(db)
    if str(root) in ("", "."):  # an in-memory database has no object store beside it
        return
    blobs = EnvironmentBlobs(ObjectStore(root))
    last = 0
    while True:
        rows = conn.execute("SELECT id, lineage FROM versions WHERE id > ? ORDER BY id LIMIT 500",
                            (last,)).fetchall()
        if not rows:
            break
        for vid, text in rows:
            last = vid
            try:
                stored = json.loads(text or "{}")
            except ValueError:
                continue
            if not isinstance(stored, dict):
                continue
            stored, sha = blobs.store(stored)
            if sha is None:
                continue
            conn.execute("UPDATE versions SET lineage = ?, environment_sha = ? WHERE id = ?",
                         (json.dumps(stored, sort_keys=True, separators=(",", ":"), default=str), sha, vid))
