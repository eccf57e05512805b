"""Upload size limits: refused with 413 before the body is stored; a length must be declared."""

from __future__ import annotations

import pytest

from server.server_helpers import file_meta, server_config, upload_body

LIMIT = 64 * 1024


@pytest.fixture
def jp_server_config(registry_root):
    return server_config(registry_root, NBRegistry={"max_upload_bytes": LIMIT})


async def test_an_upload_over_the_limit_is_refused_with_413(api, registry_root):
    body = upload_body(file_meta("big"), {"model.txt": b"x" * (2 * LIMIT)})
    r = await api("POST", "/versions", raw_body=body, headers={"Content-Type": "application/x-tar"})
    assert r.status == 413 and r.json["code"] == "too_large" and str(LIMIT) in r.json["message"]
    assert not [p for p in (registry_root / "tmp").iterdir() if p.name.startswith("upload")]
    r = await api("POST", "/versions", raw_body=upload_body(file_meta("small"), {"model.txt": b"x" * 100}))
    assert r.status == 201  # a body under the limit on the same server goes through
    assert (await api("GET", "/models")).json["total"] == 1


async def test_an_upload_without_content_length_is_refused_with_411(http_server_client, jp_base_url, jp_serverapp):
    from server.server_helpers import API, TOKENS

    async def chunked(write):  # no Content-Length: Transfer-Encoding: chunked
        await write(upload_body(file_meta("chunked"), {"model.txt": b"x"}))

    r = await http_server_client.fetch(f"{jp_base_url}{API}/versions", method="POST", body_producer=chunked,
                                       headers={"Authorization": f"token {TOKENS['alice']}"}, raise_error=False)
    assert r.code == 411


def test_remote_registry_refuses_an_upload_over_the_server_limit_before_sending(tmp_path):
    from nbregistry.core.errors import ValidationError
    from nbregistry.remote import RemoteRegistry
    from server.remote_fixture import TOKENS, start_server, stop_server

    proc, url = start_server(tmp_path / "registry", users=TOKENS, log_path=tmp_path / "server.log",
                             extra_args=("--max-upload", str(LIMIT)))
    try:
        reg = RemoteRegistry(url, TOKENS["alice"])
        (tmp_path / "big.bin").write_bytes(b"x" * (2 * LIMIT))
        with pytest.raises(ValidationError, match=f"at most {LIMIT}"):
            reg.register(str(tmp_path / "big.bin"), "big")
        (tmp_path / "small.bin").write_bytes(b"x" * 100)
        assert reg.register(str(tmp_path / "small.bin"), "small").ref == "small:1"
        assert [m.name for m in reg.list_models()] == ["small"]
    finally:
        stop_server(proc)
