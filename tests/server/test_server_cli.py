"""``nbregistry server``: refuses bad options with exit 2 before starting; with one shared token
the author is the name each client claims."""

from __future__ import annotations

import pytest

from nbregistry.cli import main
from server.remote_fixture import start_server, stop_server


@pytest.mark.parametrize("content", ["not json", '["alice"]', '{"alice": ""}', '{"alice": 3}'])
def test_bad_users_file_is_a_usage_error(tmp_path, capsys, content):
    users = tmp_path / "users.json"
    users.write_text(content)
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(users)]) == 2
    assert "--users" in capsys.readouterr().err


def test_missing_users_file_is_a_usage_error(tmp_path, capsys):
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(tmp_path / "nope.json")]) == 2


def test_a_shared_token_server_records_the_name_each_client_claims(tmp_path):
    from nbregistry.remote import RemoteRegistry

    proc, url = start_server(tmp_path / "registry", token="shared-secret", log_path=tmp_path / "server.log")
    try:
        zoe = RemoteRegistry(url, "shared-secret", author="zoe")
        yan = RemoteRegistry(url, "shared-secret", author="yan")
        (tmp_path / "m.txt").write_text("m")
        assert zoe.register(str(tmp_path / "m.txt"), "churn").author == "zoe"
        assert yan.comment("churn:1", "nice").author == "yan"
        assert yan.whoami() == "yan"
        with pytest.raises(Exception, match="NBREGISTRY_TOKEN"):
            RemoteRegistry(url, "guess").get("churn")
    finally:
        stop_server(proc)
