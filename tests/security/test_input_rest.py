"""Attack: crafted REST input (huge numbers, deep nesting, lone surrogates, unicode digits, clashing
upload paths, thousands of refs, oversized bodies) gets a clear 4xx JSON error from the real server,
never a 500, a traceback, a hang or unbounded memory. Nothing stored is changed by a refused request."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.parse

import pytest

from security.rest_attacks import api, assert_clear_4xx, jp_server_config, limits_config, registry_root, seed  # noqa: F401
from server.server_helpers import file_meta, upload_body

HUGE = "1" + "0" * 400  # 10**400: Python parses it, SQLite cannot bind it


@pytest.fixture
def churn(seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn", description="kept")
    seed.comment("churn:1", "first")
    return seed


def raw(text: str) -> bytes:
    return text.encode()


# -- huge integers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    f"/models?limit={HUGE}", f"/models?offset={HUGE}", f"/models?offset=9223372036854775808",
    f"/models/churn/versions?offset={HUGE}", f"/search?offset={HUGE}", f"/events?since={HUGE}",
    f"/events?limit={HUGE}", f"/activity?since={HUGE}", f"/compare?model=churn&limit={HUGE}",
])
async def test_huge_integers_in_the_query_are_400(api, churn, path):
    assert_clear_4xx(await api("GET", path))


@pytest.mark.parametrize("ref", [f"churn:{HUGE}", "churn:9223372036854775808", "churn:99999999999999999999"])
async def test_huge_version_numbers_in_refs_are_400(api, churn, ref):
    quoted = urllib.parse.quote(ref, safe="")
    assert_clear_4xx(await api("GET", f"/versions/{quoted}"), "version")
    assert_clear_4xx(await api("GET", "/resolve", params={"ref": ref}), "version")
    assert_clear_4xx(await api("POST", "/aliases", body={"ref": ref, "alias": "production"}), "version")


@pytest.mark.parametrize("path", [f"/comments/{HUGE[:60]}", f"/comments/{HUGE[:60]}/history"])
async def test_huge_comment_ids_in_the_path_are_4xx(api, churn, path):
    method = "GET" if path.endswith("history") else "PATCH"
    r = await api(method, path, body=None if method == "GET" else {"body": "x"})
    assert r.status in (400, 404) and r.json and r.json["message"], r


@pytest.mark.parametrize("body", [
    '{"ref": "churn:1", "body": "x", "reply_to": %s}' % HUGE,
    '{"ref": "churn:1", "body": "x", "reply_to": 1e400}',
    '{"ref": "churn:1", "body": "x", "anchor": %s}' % HUGE,
])
async def test_huge_numbers_in_json_bodies_are_400(api, churn, body):
    assert_clear_4xx(await api("POST", "/comments", raw_body=raw(body)), "number")
    assert [c.body for c in churn.comments("churn:1")] == ["first"]


async def test_huge_numbers_in_a_policy_or_gc_are_400(api, churn):
    assert_clear_4xx(await api("PUT", "/policies/churn/production", raw_body=raw('{"approvals": %s}' % HUGE)))
    assert_clear_4xx(await api("PUT", "/policies/churn/production", raw_body=raw('{"approvals": NaN}')))
    assert_clear_4xx(await api("POST", "/gc", raw_body=raw('{"grace": %s}' % HUGE)))
    assert churn.get_policy("churn", "production").empty


# -- deep nesting ----------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deeply_nested_json_is_400(api, churn, depth):
    nested = '{"ref": "churn:1", "body": "x", "anchor": ' + "[" * depth + "]" * depth + "}"
    assert_clear_4xx(await api("POST", "/comments", raw_body=raw(nested)), "deep")
    policy = '{"gates": ' + "[" * depth + "]" * depth + "}"
    assert_clear_4xx(await api("PUT", "/policies/churn/production", raw_body=raw(policy)), "deep")
    assert len(churn.comments("churn:1")) == 1


# -- lone surrogates -------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path, body", [
    ("POST", "/comments", '{"ref": "churn:1", "body": "bad \\ud800 text"}'),
    ("PATCH", "/models/churn", '{"description": "\\udc00"}'),
    ("PATCH", "/versions/churn%3A1", '{"tags": {"\\ud83d": "x"}}'),
    ("POST", "/aliases", '{"ref": "churn:1", "alias": "prod", "reason": "\\ud800"}'),
])
async def test_lone_surrogates_in_json_are_400(api, churn, method, path, body):
    assert_clear_4xx(await api(method, path, raw_body=raw(body)), "surrogate")
    assert churn.get("churn:1").description == "kept" and churn.get_model("churn").description == ""


@pytest.mark.parametrize("path", ["/models/%ED%A0%80", "/versions/churn%ED%A0%80", "/models?q=%ED%A0%80",
                                  "/search?q=%ED%B0%80", "/resolve?ref=%ED%A0%80", "/models/%FF"])
async def test_lone_surrogates_and_bad_utf8_in_urls_are_400(api, churn, path):
    r = await api("GET", path)
    assert r.status == 400 and r.json and r.json["message"], r


# -- refs with unicode digits ----------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["churn:²", "churn:١", "churn:１", "churn:𝟏"])
async def test_refs_with_non_ascii_digits_are_400_not_500_nor_version_1(api, churn, ref):
    r = await api("GET", "/versions/" + urllib.parse.quote(ref, safe=""))
    assert_clear_4xx(r, "version")
    assert_clear_4xx(await api("GET", "/resolve", params={"ref": ref}), "version")


def test_the_ref_parser_takes_only_ascii_digits():
    from nbregistry.core.errors import InvalidRef
    from nbregistry.core.refs import parse_ref

    assert parse_ref("churn:12").version == 12
    for ref in ("churn:²", "churn:١", "churn:１", "churn:9223372036854775808"):
        with pytest.raises(InvalidRef, match="version"):
            parse_ref(ref)


# -- uploads ---------------------------------------------------------------------------------------
def tar_of(entries) -> bytes:
    """A tar holding ``entries`` = [(name, bytes or None for a folder)] exactly, in order."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


META = json.dumps(file_meta("clash")).encode()


@pytest.mark.parametrize("entries", [
    [("nbregistry.json", META), ("files/a", b"file"), ("files/a/b", b"inside")],
    [("nbregistry.json", META), ("files/a/b", b"inside"), ("files/a", b"file")],
    [("nbregistry.json", META), ("files/a/b/c", b"deep"), ("files/a/b", b"file")],
    [("nbregistry.json", META), ("files/x", b"1"), ("files/./x", b"2")],
])
async def test_an_upload_with_a_file_and_a_folder_at_one_path_is_400(api, churn, registry_root, entries):
    r = await api("POST", "/versions", raw_body=tar_of(entries), headers={"Content-Type": "application/x-tar"})
    assert_clear_4xx(r)
    assert churn.list_models().total == 1
    assert not [p for p in (registry_root / "tmp").iterdir() if p.name.startswith("upload")]


async def test_an_upload_with_huge_numbers_in_its_metadata_is_400(api, churn):
    for extra in ({"metrics": {"auc": 10 ** 400}}, {"lineage": {"n": 10 ** 400}}):
        body = upload_body(file_meta("huge", **extra), {"model.txt": b"x"})
        assert_clear_4xx(await api("POST", "/versions", raw_body=body, headers={"Content-Type": "application/x-tar"}))
    meta = json.dumps(file_meta("deep")).encode()[:-1] + b', "lineage": {"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}"
    r = await api("POST", "/versions", raw_body=tar_of([("nbregistry.json", meta), ("files/model.txt", b"x")]),
                  headers={"Content-Type": "application/x-tar"})
    assert_clear_4xx(r, "deep")
    assert churn.list_models().total == 1


# -- many refs, big bodies -------------------------------------------------------------------------
async def test_compare_with_thousands_of_refs_is_400(api, churn):
    refs = ",".join(["churn:1"] * 5000)
    assert_clear_4xx(await api("GET", "/compare", params={"refs": refs}), "refs")
    assert (await api("GET", "/compare", params={"refs": "churn:1,churn:1"})).status == 200


async def test_a_json_body_larger_than_the_limit_is_413_before_it_is_read(api, churn):
    body = json.dumps({"ref": "churn:1", "body": "x" * (3 << 20)}).encode()
    r = await api("POST", "/comments", raw_body=body)
    assert r.status == 413 and r.json["code"] == "too_large", r
    assert len(churn.comments("churn:1")) == 1


async def test_an_undeclared_body_is_cut_off_at_the_limit(http_server_client, jp_base_url, api, churn):
    """Chunked (no Content-Length): the server stops reading at max_body_bytes instead of buffering it all."""
    from server.server_helpers import API, TOKENS

    async def endless(write):
        await write(b'{"ref": "churn:1", "body": "')
        for _ in range(64):  # 8 MiB, four times the limit
            await write(b"x" * (128 * 1024))
        await write(b'"}')

    from tornado.simple_httpclient import HTTPStreamClosedError

    try:
        r = await http_server_client.fetch(f"{jp_base_url}{API}/comments", method="POST", body_producer=endless,
                                           headers={"Authorization": f"token {TOKENS['alice']}",
                                                    "Content-Type": "application/json"}, raise_error=False)
        assert r.code == 413, r.code  # (400 would mean the whole body was read and parsed)
    except HTTPStreamClosedError:
        pass  # the server closed the connection once the body passed the limit
    assert len(churn.comments("churn:1")) == 1
    assert (await api("GET", "/models")).status == 200  # the server is fine
