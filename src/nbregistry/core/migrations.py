"""Schema migrations, applied with sqlite-utils' ``Migrations`` (imported only when one is pending).

Each migration is a small named function; ``SCHEMA_VERSION`` equals the number of migrations and is
mirrored into ``PRAGMA user_version`` so that opening an up-to-date registry needs no import of
sqlite-utils, and a database written by a newer nbregistry is recognised and refused.
"""

from __future__ import annotations

from pathlib import Path

INITIAL_DDL = """
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  archived INTEGER NOT NULL DEFAULT 0,
  last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE model_tags (model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (model_id, key));
CREATE TABLE versions (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  author TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  flavor TEXT NOT NULL,
  flavor_meta TEXT NOT NULL DEFAULT '{}',
  artifact_sha TEXT NOT NULL,
  artifact_size INTEGER NOT NULL,
  signature TEXT,
  input_example_sha TEXT,
  lineage TEXT NOT NULL DEFAULT '{}',
  UNIQUE (model_id, version)
);
CREATE INDEX versions_created ON versions (created_at);
CREATE TABLE metrics (version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (version_id, key));
CREATE INDEX metrics_key_value ON metrics (key, value);
CREATE TABLE params (version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (version_id, key));
CREATE INDEX params_key_value ON params (key, value);
CREATE TABLE version_tags (version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (version_id, key));
CREATE INDEX version_tags_key_value ON version_tags (key, value);
CREATE TABLE version_blobs (version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  sha TEXT NOT NULL, PRIMARY KEY (version_id, sha));
CREATE INDEX version_blobs_sha ON version_blobs (sha);
CREATE TABLE aliases (model_id INTEGER NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL COLLATE NOCASE, version_id INTEGER NOT NULL REFERENCES versions(id),
  updated_at TEXT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (model_id, alias));
CREATE INDEX aliases_version ON aliases (version_id);
CREATE TABLE alias_moves (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL COLLATE NOCASE, version INTEGER, previous INTEGER, time TEXT NOT NULL,
  actor TEXT NOT NULL, reason TEXT, kind TEXT NOT NULL, forced INTEGER NOT NULL DEFAULT 0,
  report TEXT, event_id INTEGER);
CREATE INDEX alias_moves_lookup ON alias_moves (model_id, alias, id);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, actor TEXT NOT NULL,
  origin TEXT NOT NULL, action TEXT NOT NULL, model TEXT, version INTEGER, ref TEXT,
  payload TEXT NOT NULL DEFAULT '{}');
CREATE INDEX events_model ON events (model, id);
"""

COLLABORATION_DDL = """
CREATE TABLE comments (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER, author TEXT NOT NULL, body TEXT NOT NULL, anchor TEXT, reply_to INTEGER REFERENCES comments(id),
  verdict TEXT CHECK (verdict IN ('approve', 'request-changes')), created_at TEXT NOT NULL, edited_at TEXT,
  deleted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX comments_target ON comments (model_id, version, id);
CREATE TABLE comment_edits (id INTEGER PRIMARY KEY AUTOINCREMENT,
  comment_id INTEGER NOT NULL REFERENCES comments(id), body TEXT NOT NULL, written_at TEXT NOT NULL,
  replaced_at TEXT NOT NULL, editor TEXT NOT NULL);
CREATE INDEX comment_edits_comment ON comment_edits (comment_id, id);
CREATE TABLE policies (model_id INTEGER NOT NULL REFERENCES models(id), alias TEXT NOT NULL COLLATE NOCASE,
  policy TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (model_id, alias));
CREATE INDEX alias_moves_time ON alias_moves (model_id, alias, time);
CREATE INDEX events_time ON events (time);
"""

MIGRATION_NAMES = ["m001_initial", "m002_collaboration", "m003_webhooks", "m004_identity", "m005_environments",
                   "m006_evaluations_cards", "m007_webhook_secrets"]
SCHEMA_VERSION = len(MIGRATION_NAMES)


def build():
    """Return the sqlite-utils ``Migrations`` set (imports sqlite-utils)."""
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("nbregistry")

    @migrations(name="m001_initial")
    def m001_initial(db):
        for statement in INITIAL_DDL.split(";"):
            if statement.strip():
                db.execute(statement)

    @migrations(name="m002_collaboration")
    def m002_collaboration(db):
        """Comments (with edit history and tombstones), per-alias policies, indexes for time travel."""
        for statement in COLLABORATION_DDL.split(";"):
            if statement.strip():
                db.execute(statement)

    @migrations(name="m003_webhooks")
    def m003_webhooks(db):
        """Webhook subscriptions, the fan-out cursor, deliveries and their attempts (store_webhooks.py)."""
        from .store_webhooks import apply_ddl

        apply_ddl(db)

    @migrations(name="m004_identity")
    def m004_identity(db):
        """How each author was established (core/identity.py): versions and comments (reviews) written
        before this were made by the embedded registry or a server that could not tell, and count as
        ``local``; ``claimed_by`` keeps a name a client claimed but could not prove."""
        for table in ("versions", "comments"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN identity TEXT NOT NULL DEFAULT 'local'")
            db.execute(f"ALTER TABLE {table} ADD COLUMN claimed_by TEXT")

    @migrations(name="m005_environments")
    def m005_environments(db):
        """Environments as content-addressed blobs; inline ones of older versions move there."""
        from .environments import migrate

        migrate(db)

    @migrations(name="m006_evaluations_cards")
    def m006_evaluations_cards(db):
        """Model cards, evaluations with their metrics, and retired model names (store_versioning.py)."""
        from .store_versioning import apply_ddl as versioning_ddl

        versioning_ddl(db)

    @migrations(name="m007_webhook_secrets")
    def m007_webhook_secrets(db):
        """Webhook secrets encrypted with the registry's key file; webhook URLs out of event payloads."""
        from .store_webhooks import seal_stored_secrets, scrub_event_urls

        seal_stored_secrets(db.conn, root_of(db))
        scrub_event_urls(db.conn)

    return migrations


def steps() -> list:
    """``[(name, function)]`` of every migration in order: what the PostgreSQL engine applies
    (core/engines/postgres.py) from the same description SQLite's sqlite-utils runner uses."""
    return [(m.name, m.fn) for m in build()._migrations]


def root_of(db) -> Path:
    """The registry folder beside the database a migration step runs on (its key file, its blobs)."""
    root = getattr(db, "nbr_root", None)
    if root is not None:
        return Path(root)
    file = next((r[2] for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main"), "")
    return Path(file).parent
