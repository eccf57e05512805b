"""Every REST route against a real jupyter-server (pytest-jupyter) that requires authentication:
what it answers, and how it refuses bad input. The registry is seeded directly on disk (``seed``,
acting as alice) and read back through the API."""

from __future__ import annotations

import hashlib
import io
import json
from urllib.parse import quote

import pytest

from server.server_helpers import file_meta, upload_body


def q(text: str) -> str:
    return quote(text, safe="")


@pytest.fixture
def churn(seed, tmp_path):
    """churn:1 (auc .80) and churn:2 (auc .90, a two-file folder), churn:1 @production."""
    one = tmp_path / "one.txt"
    one.write_text("first model")
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"\x00\x01binary" * 1000)
    (folder / "sub" / "config.json").write_text('{"depth": 5}')
    seed.register(str(one), "churn", metrics={"auc": 0.80, "loss": 0.5}, params={"depth": 3}, tags={"team": "growth"})
    seed.register(str(folder), "churn", metrics={"auc": 0.90, "loss": 0.4}, params={"depth": 5})
    seed.set_alias("churn:1", "production")
    return seed


# ==================================================================== handshake, models, versions
async def test_version_handshake_names_the_caller(api):
    r = await api("GET", "/version", user="bob")
    assert r.status == 200
    assert r.json["api"] == 1 and r.json["version"] == __import__("nbregistry").__version__
    assert r.json["author"] == "bob"


async def test_models_list_filters_and_pages(api, churn, tmp_path):
    (tmp_path / "x").write_text("x")
    churn.register(str(tmp_path / "x"), "fraud")
    churn.update_model("fraud", archived=True)
    r = await api("GET", "/models")
    assert r.status == 200
    assert [m["name"] for m in r.json["models"]] == ["churn"] and r.json["total"] == 1
    r = await api("GET", "/models", params={"archived": "1"})
    assert [m["name"] for m in r.json["models"]] == ["churn", "fraud"] and r.json["total"] == 2
    r = await api("GET", "/models", params={"q": "FRA", "archived": "1"})
    assert [m["name"] for m in r.json["models"]] == ["fraud"]
    r = await api("GET", "/models", params={"archived": "1", "limit": "1", "offset": "1"})
    assert [m["name"] for m in r.json["models"]] == ["fraud"] and r.json["total"] == 2
    model = next(m for m in (await api("GET", "/models")).json["models"])
    assert model["aliases"] == {"production": 1} and model["latest_version"] == 2 and model["version_count"] == 2


@pytest.mark.parametrize("params", [{"limit": "x"}, {"limit": "0"}, {"offset": "-1"}, {"archived": "maybe"}])
async def test_models_list_refuses_bad_paging(api, params):
    r = await api("GET", "/models", params=params)
    assert r.status == 400 and r.json["code"] == "bad_request" and r.json["message"]


async def test_model_get_patch_and_unknown(api, churn):
    r = await api("GET", "/models/churn")
    assert r.status == 200 and r.json["name"] == "churn" and r.json["tags"] == {}
    r = await api("PATCH", "/models/churn", body={"description": "who leaves", "tags": {"team": "growth"}})
    assert r.status == 200 and r.json["description"] == "who leaves" and r.json["tags"] == {"team": "growth"}
    r = await api("PATCH", "/models/churn", body={"tags": {"team": None}})
    assert r.json["tags"] == {}
    assert (await api("GET", "/models/nope")).status == 404
    assert (await api("GET", "/models/nope")).json["code"] == "not_found"
    assert (await api("PATCH", "/models/nope", body={"description": "x"})).status == 404


@pytest.mark.parametrize("body", [{"name": "x"}, {"description": 3}, {"tags": "a=b"}, {"archived": "yes"}, [1]])
async def test_patch_refuses_unknown_or_mistyped_fields(api, churn, body):
    for path in ("/models/churn", "/versions/churn%3A1"):
        r = await api("PATCH", path, body=body)
        assert r.status == 400, (path, body, r)
        assert r.json["code"] == "bad_request"
    assert churn.get("churn:1").description == ""


async def test_patch_refuses_a_body_that_is_not_json(api, churn):
    r = await api("PATCH", "/models/churn", raw_body=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and "JSON" in r.json["message"]


async def test_model_versions_pages_newest_first(api, churn):
    r = await api("GET", "/models/churn/versions")
    assert [v["ref"] for v in r.json["versions"]] == ["churn:2", "churn:1"] and r.json["total"] == 2
    r = await api("GET", "/models/churn/versions", params={"limit": "1", "offset": "1"})
    assert [v["ref"] for v in r.json["versions"]] == ["churn:1"] and r.json["total"] == 2
    assert (await api("GET", "/models/ghost/versions")).status == 404
    assert (await api("GET", "/models/bad%20name/versions")).status == 400


async def test_version_get_by_number_alias_and_latest(api, churn):
    for ref, number in (("churn:1", 1), ("churn@production", 1), ("churn", 2)):
        r = await api("GET", f"/versions/{q(ref)}")
        assert r.status == 200 and r.json["version"] == number, ref
    v = (await api("GET", "/versions/churn%3A2")).json
    assert v["metrics"] == {"auc": 0.9, "loss": 0.4} and v["params"] == {"depth": "5"}
    assert sorted(f["path"] for f in v["artifact"]["files"]) == ["model.bin", "sub/config.json"]
    assert v["lineage"]["python"]


@pytest.mark.parametrize("ref, status", [("churn:9", 404), ("churn@staging", 404), ("ghost", 404),
                                         ("churn:x", 400), ("churn:1@prod", 400), ("-bad", 400)])
async def test_version_get_refusals(api, churn, ref, status):
    r = await api("GET", f"/versions/{q(ref)}")
    assert r.status == status and r.json["code"] == {404: "not_found", 400: "bad_request"}[status]


async def test_version_patch_and_delete(api, churn):
    r = await api("PATCH", "/versions/churn%3A2", body={"description": "better", "tags": {"stage": "rc"},
                                                        "archived": True})
    assert r.status == 200 and r.json["status"] == "archived" and r.json["tags"] == {"stage": "rc"}
    assert churn.get("churn:2").description == "better"
    r = await api("DELETE", "/versions/churn%3A1")
    assert r.status == 409 and r.json["code"] == "conflict" and "production" in r.json["message"]
    r = await api("DELETE", "/versions/churn%3A2")
    assert r.status == 200 and r.json == {"deleted": "churn:2"}
    assert (await api("DELETE", "/versions/churn")).status == 400  # needs an explicit version
    assert (await api("DELETE", "/versions/churn%3A2")).status == 404


async def test_artifact_and_input_example(api, churn, tmp_path):
    import numpy as np

    (tmp_path / "m.txt").write_text("m")
    churn.register(str(tmp_path / "m.txt"), "ex", input_example=np.array([[1.0, 2.0]]))
    r = await api("GET", "/versions/churn%3A2/artifact")
    assert r.status == 200 and r.json["flavor"] == "file" and r.json["author"] == "alice"
    assert r.json["meta"]["kind"] == "dir" and len(r.json["files"]) == 2 and r.json["ref"] == "churn:2"
    r = await api("GET", "/versions/ex%3A1/input-example")
    assert r.status == 200 and r.json == {"type": "tensor", "dtype": "float64", "data": [[1.0, 2.0]]}
    r = await api("GET", "/versions/churn%3A1/input-example")
    assert r.status == 200 and r.json is None
    assert (await api("GET", "/versions/ghost%3A1/artifact")).status == 404


# ==================================================================== files
async def test_file_download_streams_the_exact_bytes(api, churn):
    r = await api("GET", "/versions/churn%3A2/files/model.bin")
    assert r.status == 200 and r.raw == b"\x00\x01binary" * 1000
    assert r.headers["Content-Type"] == "application/octet-stream"
    r = await api("GET", "/versions/churn%3A2/files/sub/config.json")
    assert r.status == 200 and r.raw == b'{"depth": 5}'
    r = await api("GET", "/versions/churn%40production/files/one.txt")
    assert r.raw == b"first model"


async def test_file_download_refusals(api, churn):
    assert (await api("GET", "/versions/churn%3A2/files/missing.bin")).status == 404
    assert (await api("GET", "/versions/churn%3A9/files/model.bin")).status == 404


# ==================================================================== search, compare, diff
async def test_search_compiles_the_core_language(api, churn):
    r = await api("GET", "/search", params={"q": "metrics.auc > 0.85"})
    assert r.status == 200 and [v["ref"] for v in r.json["versions"]] == ["churn:2"]
    r = await api("GET", "/search", params={"q": "", "order_by": "metrics.auc asc"})
    assert [v["ref"] for v in r.json["versions"]] == ["churn:1", "churn:2"]
    r = await api("GET", "/search", params={"q": "alias = production"})
    assert [v["ref"] for v in r.json["versions"]] == ["churn:1"]
    r = await api("GET", "/search", params={"q": "metrics.auc >>> 1"})
    assert r.status == 400 and r.json["code"] == "bad_request"
    r = await api("GET", "/search", params={"order_by": "nonsense"})
    assert r.status == 400


async def test_search_and_model_list_answer_the_true_total(api, churn):
    r = await api("GET", "/search", params={"q": "name = churn", "order_by": "metrics.auc desc", "limit": "1"})
    assert len(r.json["versions"]) == 1 and r.json["total"] == 2 and r.json["total_capped"] is False
    await api("PATCH", "/models/churn", body={"description": "Predicts who leaves", "tags": {"team": "growth"}})
    for q in ("leaves", "growth", "CHURN"):
        r = await api("GET", "/models", params={"q": q})
        assert [m["name"] for m in r.json["models"]] == ["churn"] and r.json["total"] == 1, q
    r = await api("GET", "/search", params={"q": "model.tags.team = growth", "limit": "1"})
    assert r.json["total"] == 2


async def test_compare_by_model_and_refs(api, churn):
    r = await api("GET", "/compare", params={"model": "churn"})
    assert r.status == 200 and r.json["schema"] == "nbregistry.comparison/1"
    assert r.json["metrics"]["auc"]["goal"] == "max" and r.json["metrics"]["loss"]["goal"] == "min"
    refs = [v["ref"] for v in r.json["versions"]]
    assert r.json["metrics"]["auc"]["best"] == [refs.index("churn:2")]
    r = await api("GET", "/compare", params={"refs": "churn:1,churn:2", "goals": "auc:min"})
    assert [v["ref"] for v in r.json["versions"]] == ["churn:1", "churn:2"]
    assert r.json["metrics"]["auc"]["best"] == [0]
    assert r.json["params"]["depth"] == {"values": ["3", "5"], "differs": True}


@pytest.mark.parametrize("params, status", [({}, 400), ({"model": "churn", "refs": "churn:1"}, 400),
                                            ({"model": "ghost"}, 404), ({"refs": "churn:1,churn:7"}, 404),
                                            ({"model": "churn", "goals": "auc:up"}, 400),
                                            ({"model": "churn", "goals": "auc"}, 400)])
async def test_compare_refusals(api, churn, params, status):
    assert (await api("GET", "/compare", params=params)).status == status


async def test_diff(api, churn):
    r = await api("GET", "/diff", params={"a": "churn:1", "b": "churn:2"})
    assert r.status == 200 and r.json["a"] == "churn:1" and r.json["b"] == "churn:2"
    assert {c["key"] for c in r.json["changes"]["metrics"]} == {"auc", "loss"}
    assert (await api("GET", "/diff", params={"a": "churn:1"})).status == 400
    assert (await api("GET", "/diff", params={"a": "churn:1", "b": "churn:8"})).status == 404


# ==================================================================== aliases, history, events
async def test_set_and_remove_alias_with_history(api, churn):
    r = await api("POST", "/aliases", body={"ref": "churn:2", "alias": "production", "reason": "better"}, user="bob")
    assert r.status == 200
    assert (r.json["alias"], r.json["version"], r.json["previous"], r.json["actor"]) == ("production", 2, 1, "bob")
    r = await api("GET", "/history", params={"ref": "churn", "alias": "production"})
    assert [(m["version"], m["previous"], m["actor"]) for m in r.json["moves"]] == [(1, None, "alice"), (2, 1, "bob")]
    r = await api("DELETE", "/aliases/churn/production", params={"reason": "retired"})
    assert r.status == 200 and r.json["kind"] == "remove" and r.json["version"] is None
    assert (await api("DELETE", "/aliases/churn/production")).status == 404


@pytest.mark.parametrize("body, status", [({"ref": "churn:1"}, 400), ({"ref": "churn:1", "alias": "latest"}, 400),
                                          ({"ref": "churn:1", "alias": "9bad"}, 400),
                                          ({"ref": "churn:5", "alias": "staging"}, 404),
                                          ({"ref": "churn:1", "alias": "staging", "extra": 1}, 400),
                                          ({"ref": 1, "alias": "staging"}, 400)])
async def test_alias_refusals_change_nothing(api, churn, registry_root, body, status):
    from helpers import state

    before = state(registry_root)
    assert (await api("POST", "/aliases", body=body)).status == status
    assert state(registry_root) == before


async def test_history_at_a_time(api, churn):
    first = churn.history("churn")[0].time
    churn.set_alias("churn:2", "production")
    r = await api("GET", "/history", params={"ref": "churn", "alias": "production", "at": first})
    assert r.status == 200 and r.json["version"]["ref"] == "churn:1"
    r = await api("GET", "/history", params={"ref": "churn", "alias": "production", "at": "2000-01-01T00:00:00Z"})
    assert r.status == 200 and r.json == {"version": None}
    assert (await api("GET", "/history")).status == 400
    assert (await api("GET", "/history", params={"ref": "churn", "alias": "production", "at": "soon"})).status == 400


async def test_events_since_for_cheap_polling(api, churn):
    r = await api("GET", "/events")
    actions = [e["action"] for e in r.json["events"]]
    assert actions[:2] == ["model.created", "version.registered"] and "alias.set" in actions
    last = r.json["last_id"]
    assert last == r.json["events"][-1]["id"]
    r = await api("GET", "/events", params={"since": str(last)})
    assert r.json == {"events": [], "last_id": last}
    await api("POST", "/comments", body={"ref": "churn:1", "body": "hi"})
    r = await api("GET", "/events", params={"since": str(last)})
    assert [e["action"] for e in r.json["events"]] == ["comment.added"] and r.json["events"][0]["origin"] == "server"
    assert (await api("GET", "/events", params={"since": "yesterday"})).status == 400


async def test_activity_feed(api, churn):
    await api("POST", "/comments", body={"ref": "churn:2", "body": "looks good"}, user="bob")
    r = await api("GET", "/activity", params={"model": "churn", "limit": "2"})
    assert r.status == 200 and len(r.json["items"]) == 2
    assert r.json["items"][0]["actor"] == "bob" and "churn:2" in r.json["items"][0]["summary"]
    newest = r.json["items"][0]["id"]
    assert (await api("GET", "/activity", params={"since": str(newest)})).json["items"] == []
    assert (await api("GET", "/activity", params={"model": "ghost"})).status == 404


# ==================================================================== comments and reviews
async def test_comment_thread_edit_and_tombstone(api, churn):
    r = await api("POST", "/comments", body={"ref": "churn:2", "body": "why **0.9**?", "anchor": "metrics.auc"})
    assert r.status == 201 and r.json["author"] == "alice" and r.json["anchor"] == "metrics.auc"
    first = r.json["id"]
    r = await api("POST", "/comments", body={"ref": "churn:2", "body": "new features", "reply_to": first}, user="bob")
    assert r.status == 201 and r.json["reply_to"] == first
    reply = r.json["id"]
    r = await api("PATCH", f"/comments/{reply}", body={"body": "new features (v2)"}, user="bob")
    assert r.status == 200 and r.json["edited_at"]
    r = await api("GET", f"/comments/{reply}/history")
    assert [e["body"] for e in r.json["edits"]] == ["new features"]
    r = await api("PATCH", f"/comments/{reply}", body={"body": "hijack"}, user="carol")
    assert r.status == 403 and r.json["code"] == "forbidden"
    r = await api("DELETE", f"/comments/{first}")
    assert r.status == 200 and r.json["deleted"] is True
    r = await api("GET", "/comments", params={"ref": "churn:2"})
    assert [(c["id"], c["deleted"]) for c in r.json["comments"]] == [(first, True), (reply, False)]


@pytest.mark.parametrize("body, status", [({"ref": "churn:2"}, 400), ({"ref": "churn:2", "body": ""}, 400),
                                          ({"ref": "churn:9", "body": "x"}, 404),
                                          ({"ref": "churn:2", "body": "x", "reply_to": 999}, 404),
                                          ({"ref": "churn:2", "body": "x", "reply_to": "x"}, 400),
                                          ({"ref": "churn:2", "body": "x", "anchor": 5}, 400)])
async def test_comment_refusals(api, churn, body, status):
    assert (await api("POST", "/comments", body=body)).status == status


async def test_comment_routes_on_unknown_ids(api, churn):
    assert (await api("PATCH", "/comments/41", body={"body": "x"})).status == 404
    assert (await api("DELETE", "/comments/41")).status == 404
    assert (await api("GET", "/comments/41/history")).status == 404
    assert (await api("GET", "/comments")).status == 400


async def test_reviews_and_review_state(api, churn):
    r = await api("POST", "/reviews", body={"ref": "churn:2", "verdict": "approve", "body": "ship it"}, user="bob")
    assert r.status == 201 and r.json["verdict"] == "approve"
    r = await api("GET", "/review-state", params={"ref": "churn:2"})
    assert r.status == 200 and r.json["approvals"] == ["bob"]
    assert (await api("POST", "/reviews", body={"ref": "churn:2", "verdict": "meh"})).status == 400
    assert (await api("POST", "/reviews", body={"ref": "churn:2"})).status == 400


# ==================================================================== promotions
async def test_policy_check_promote_refusal_and_rollback(api, churn, registry_root):
    from helpers import state

    r = await api("PUT", "/policies/churn/production", body={"required_approvals": 1})
    assert r.status == 200 and r.json["required_approvals"] == 1
    assert (await api("GET", "/policies/churn/production")).json["required_approvals"] == 1
    r = await api("POST", "/check", body={"ref": "churn:2", "alias": "production"})
    assert r.status == 200 and r.json["allowed"] is False
    before = state(registry_root)
    r = await api("POST", "/promote", body={"ref": "churn:2", "alias": "production"})
    assert r.status == 409 and r.json["code"] == "conflict"
    assert r.json["report"]["allowed"] is False and r.json["report"]["gates"]
    assert state(registry_root) == before
    await api("POST", "/reviews", body={"ref": "churn:2", "verdict": "approve"}, user="bob")
    r = await api("POST", "/promote", body={"ref": "churn:2", "alias": "production", "reason": "approved"})
    assert r.status == 200 and (r.json["version"], r.json["previous"], r.json["kind"]) == (2, 1, "promote")
    r = await api("POST", "/rollback", body={"ref": "churn@production", "reason": "latency"})
    assert r.status == 200 and (r.json["version"], r.json["kind"]) == (1, "rollback")


@pytest.mark.parametrize("path, body, status", [
    ("/promote", {"ref": "churn:2"}, 400), ("/promote", {"ref": "churn:2", "alias": "p", "force": "yes"}, 400),
    ("/promote", {"ref": "churn:7", "alias": "production"}, 404), ("/check", {"alias": "production"}, 400),
    ("/rollback", {}, 400), ("/rollback", {"ref": "churn@staging"}, 404)])
async def test_promotion_refusals(api, churn, path, body, status):
    assert (await api("POST", path, body=body)).status == status


async def test_policy_refusals(api, churn):
    assert (await api("PUT", "/policies/churn/production", body={"required_approvals": "two"})).status == 400
    assert (await api("PUT", "/policies/churn/production", body={"gates": [{"type": "nope"}]})).status == 400
    assert (await api("PUT", "/policies/ghost/production", body={})).status == 404
    assert (await api("GET", "/policies/churn/9bad")).status == 400


async def test_writes_are_never_get(api, churn):
    for path in ("/aliases", "/promote", "/rollback", "/reviews", "/check", "/gc", "/versions"):
        assert (await api("GET", path)).status == 405, path


# ==================================================================== maintenance
async def test_verify_and_gc(api, churn):
    r = await api("GET", "/verify")
    assert r.status == 200 and r.json["problems"] == [] and r.json["checked_versions"] == 2
    r = await api("POST", "/gc", body={"grace": 0, "dry_run": True})
    assert r.status == 200 and r.json["dry_run"] is True
    assert (await api("POST", "/gc", body={"grace": "soon"})).status == 400


# ==================================================================== upload
# A small upload is received in memory, a large one (over SMALL_UPLOAD_BYTES) in a spool file: both
# ways are checked the same way and leave nothing behind.
UPLOAD_SIZES = pytest.mark.parametrize("weights", [b"weights", b"w" * (3 << 20)], ids=["in-memory", "spooled"])


@UPLOAD_SIZES
async def test_upload_registers_a_version_as_the_caller(api, registry_root, weights):
    body = upload_body(file_meta("uploaded", metrics={"auc": 0.7}, tags={"via": "rest"}, description="d"),
                       {"model.txt": weights})
    sha = hashlib.sha256(body).hexdigest()
    r = await api("POST", "/versions", raw_body=body, user="carol",
                  headers={"Content-Type": "application/x-tar", "X-NBRegistry-SHA256": sha})
    assert r.status == 201, r
    assert (r.json["ref"], r.json["author"], r.json["metrics"], r.json["deduplicated"]) == (
        "uploaded:1", "carol", {"auc": 0.7}, False)
    got = await api("GET", "/versions/uploaded%3A1/files/model.txt")
    assert got.raw == weights
    r = await api("POST", "/versions", raw_body=body, headers={"Content-Type": "application/x-tar"})
    assert r.status == 201 and r.json["ref"] == "uploaded:2" and r.json["deduplicated"] is True
    assert not [p for p in (registry_root / "tmp").iterdir() if p.name.startswith("upload")]


@UPLOAD_SIZES
async def test_upload_with_a_wrong_hash_is_refused_and_stores_nothing(api, registry_root, weights):
    from helpers import state

    await api("GET", "/models")  # the server creates the registry
    before = state(registry_root)
    body = upload_body(file_meta("x"), {"model.txt": weights})
    r = await api("POST", "/versions", raw_body=body, headers={"X-NBRegistry-SHA256": "0" * 64})
    assert r.status == 400 and "sha256" in r.json["message"]
    assert state(registry_root) == before


@pytest.mark.parametrize("meta, files, fragment", [
    ({"flavor": "file", "flavor_meta": {}}, {"a": b"1"}, "'name'"),
    (file_meta("x", colour="red"), {"a": b"1"}, "colour"),
    (file_meta("x", metrics={"auc": "high"}), {"a": b"1"}, "auc"),
    (file_meta("bad name"), {"a": b"1"}, "invalid model name"),
    ({"name": "x", "flavor": "martian", "flavor_meta": {}}, {"a": b"1"}, "unknown flavor"),
    (file_meta("x"), {}, "no artifact files"),
    (file_meta("x", input_example={"rows": 1}), {"a": b"1"}, "input example"),
])
async def test_upload_refuses_bad_metadata(api, meta, files, fragment):
    r = await api("POST", "/versions", raw_body=upload_body(meta, files))
    assert r.status == 400 and fragment in r.json["message"], r


async def test_upload_refuses_archives_that_could_escape(api, registry_root):
    import tarfile

    for make in ("traversal", "symlink", "absolute", "not-a-tar", "no-metadata"):
        out = io.BytesIO()
        if make == "not-a-tar":
            out.write(b"hello" * 200)
        else:
            with tarfile.open(fileobj=out, mode="w:") as tar:
                if make != "no-metadata":
                    raw = json.dumps(file_meta("esc")).encode()
                    info = tarfile.TarInfo("nbregistry.json")
                    info.size = len(raw)
                    tar.addfile(info, io.BytesIO(raw))
                if make == "symlink":
                    info = tarfile.TarInfo("files/link")
                    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                    tar.addfile(info)
                else:
                    name = {"traversal": "files/../../evil", "absolute": "/files/evil"}.get(make, "files/ok")
                    info = tarfile.TarInfo(name)
                    info.size = 4
                    tar.addfile(info, io.BytesIO(b"evil"))
        r = await api("POST", "/versions", raw_body=out.getvalue())
        assert r.status == 400, (make, r)
    assert not (registry_root.parent / "evil").exists() and not (registry_root / "evil").exists()
    assert (await api("GET", "/models")).json["total"] == 0


# ==================================================================== where reads run
async def test_quick_reads_of_a_local_registry_run_on_the_loop_and_the_rest_on_the_read_pool(
        api, churn, jp_serverapp, monkeypatch):
    import threading

    from nbregistry.core.registry import Registry

    ran = []
    for name in ("list_models", "search", "get", "verify"):
        original = getattr(Registry, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            ran.append((_name, threading.current_thread().name))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Registry, name, spy)
    loop_thread = threading.current_thread().name  # pytest-jupyter serves on the test's own loop
    service = jp_serverapp.web_app.settings["nbregistry"]
    assert service.inline_reads  # SQLite and a folder: nothing waits on a network
    calls = [("/models", {"limit": "50"}), ("/models", {"limit": "500"}), ("/search", {"q": "", "limit": "20"}),
             ("/search", {"q": "", "limit": "20", "offset": "5000"}),
             ("/search", {"q": "metrics.auc > 0.5", "limit": "20"}),  # through the (key, value) index
             ("/search", {"q": "description = 'x'", "limit": "20"}),  # no index answers it: a scan
             ("/versions/churn%3A1", None), ("/verify", None)]
    for path, params in calls:
        assert (await api("GET", path, params=params)).status == 200, path
    where = ["loop" if thread == loop_thread else thread.rsplit("_", 1)[0] for _, thread in ran]
    assert [name for name, _ in ran] == ["list_models", "list_models", "search", "search", "search", "search",
                                         "get", "verify"]
    assert where == ["loop", "nbregistry-read", "loop", "nbregistry-read", "loop", "nbregistry-read", "loop",
                     "nbregistry-read"], ran
    r = await api("GET", "/search", params={"q": "metrics.auc >"})  # a bad expression: still its 400
    assert r.status == 400 and r.json["code"] == "bad_request"
    ran.clear()
    monkeypatch.setattr(service, "inline_reads", False)  # as with PostgreSQL or S3
    assert (await api("GET", "/models", params={"limit": "50"})).status == 200
    assert ran[0][1].startswith("nbregistry-read"), ran
