"""The faces choose PostgreSQL + S3 too: ``nbregistry server --db URL --objects URL`` and the CLI's
global ``--db`` (c.NBRegistry.db is the same setting, which the server fixture's config goes through)."""

from __future__ import annotations

import json
import subprocess
import sys

from remote_fixture import start_server, stop_server

from nbregistry import Registry
from nbregistry.remote import RemoteRegistry


def test_a_server_on_postgres_and_s3_serves_what_the_embedded_registry_sees(tmp_path, pg_registry_url, s3_url):
    proc, url = start_server(tmp_path / "server-root", token="pg-token", log_path=tmp_path / "server.log",
                             extra_args=["--db", pg_registry_url, "--objects", s3_url])
    try:
        remote = RemoteRegistry(url, "pg-token", author="alice")
        f = tmp_path / "w.bin"
        f.write_bytes(b"served weights")
        assert remote.register(f, "churn", metrics={"auc": 0.9}).ref == "churn:1"
        remote.set_alias("churn:1", "production")
        assert remote.verify().ok
    finally:
        stop_server(proc)
    assert not (tmp_path / "server-root" / "registry.db").exists()  # the metadata went to PostgreSQL
    local = Registry(tmp_path / "elsewhere", db=pg_registry_url, objects=s3_url)
    assert local.get("churn@production").metrics == {"auc": 0.9}
    assert local.load("churn:1").read_bytes() == b"served weights"
    local.close()


def test_the_cli_reads_the_database_db_names(tmp_path, pg_registry_url):
    reg = Registry(tmp_path / "work", db=pg_registry_url, author="alice")
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    reg.register(f, "churn")
    reg.close()
    out = subprocess.run([sys.executable, "-m", "nbregistry.cli", "--root", str(tmp_path / "cli-root"),
                          "--db", pg_registry_url, "ls", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert [m["name"] for m in json.loads(out.stdout)["models"]] == ["churn"]
    empty = subprocess.run([sys.executable, "-m", "nbregistry.cli", "--db", "mysql://nope", "ls"],
                           capture_output=True, text=True)
    assert empty.returncode == 2 and "unknown database 'mysql://nope'" in empty.stderr


def test_reads_that_wait_on_postgres_or_s3_never_run_on_the_event_loop(tmp_path, pg_registry_url, s3_url):
    from nbregistry.server import NBRegistry
    from nbregistry.server.base import RegistryService

    kinds = {"sqlite+folder": {}, "sqlite+s3": {"objects": s3_url},
             "postgres+s3": {"db": pg_registry_url, "objects": s3_url}, "postgres+folder": {"db": pg_registry_url}}
    inline = {}
    for kind, stores in [*kinds.items(), ("a user's jupyter", {})]:
        on = kind != "a user's jupyter"  # nbregistry server's config turns inline reads on; the extension's not
        service = RegistryService(NBRegistry(root=str(tmp_path / kind), inline_reads=on, **stores))
        inline[kind] = service.inline_reads
        service.registry.close()
        for pool in (service.readers, service.writer, service.blobs):
            pool.shutdown()
    assert inline == {"sqlite+folder": True, "sqlite+s3": False, "postgres+s3": False, "postgres+folder": False,
                      "a user's jupyter": False}
    assert NBRegistry().inline_reads is False
