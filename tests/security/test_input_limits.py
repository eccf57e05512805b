"""Attack: oversized or malformed registrations and edits. The registry's size rules live in the core
(``Registry.limits``), so the Python API, the CLI and the REST server refuse the same input with the
same one-line error, and the server's limits are its NBRegistry settings."""

from __future__ import annotations

import json

import pytest

from helpers import cli_runner, state
from nbregistry.core.errors import ValidationError
from nbregistry.core.limits import Limits
from security.rest_attacks import api, assert_clear_4xx, jp_server_config, registry_root, seed  # noqa: F401
from server.server_helpers import file_meta, upload_body


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("m")
    return str(path)


@pytest.fixture
def small(local_reg):
    local_reg.limits = Limits(description_chars=100, metrics=3, params=3, tags=2, compare_refs=4, lineage_bytes=200_000,
                              json_depth=8)
    return local_reg


@pytest.mark.parametrize("kwargs, words", [
    ({"description": "x" * 101}, ["description", "100"]),
    ({"metrics": {f"m{i}": i for i in range(4)}}, ["3 metrics"]),
    ({"params": {f"p{i}": i for i in range(4)}}, ["3 params"]),
    ({"tags": {f"t{i}": i for i in range(3)}}, ["2 tags"]),
    ({"description": "bad \ud800"}, ["surrogate"]),
    ({"tags": {"\udcff": "x"}}, ["surrogate"]),
    ({"params": {"p": "\udc80"}}, ["surrogate"]),
    ({"metrics": {"auc": 10 ** 400}}, ["too large"]),
])
def test_the_python_api_refuses_oversized_or_unstorable_registrations(small, model_file, kwargs, words):
    before = state(small.root)
    with pytest.raises(ValidationError) as err:
        small.register(model_file, "churn", **kwargs)
    assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), err.value
    assert state(small.root)[0] == before[0]


def test_lineage_too_big_or_too_deep_is_refused(small, tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "m.txt").write_text("m")
    deep: dict = {}
    node = deep
    for _ in range(10_000):  # deeper than Python's recursion limit: json.dumps alone would crash
        node["x"] = {}
        node = node["x"]
    for lineage, word in (({"notes": "x" * 300_000}, "bytes"), (deep, "deep")):
        with pytest.raises(ValidationError, match=word):
            small.register_saved(folder, "churn", flavor="file", flavor_meta={"kind": "dir"}, lineage=lineage)
    assert small.list_models().total == 0


def test_edits_and_comparisons_keep_the_same_limits(small, model_file):
    small.register(model_file, "churn")
    with pytest.raises(ValidationError, match="100"):
        small.describe("churn:1", "y" * 101)
    with pytest.raises(ValidationError, match="100"):
        small.update_model("churn", description="y" * 101)
    with pytest.raises(ValidationError, match="surrogate"):
        small.comment("churn:1", "bad \ud800")
    with pytest.raises(ValidationError, match="4 refs"):
        small.compare(["churn:1"] * 5)
    assert len(small.compare(["churn:1"] * 4).versions) == 4
    with pytest.raises(ValidationError, match="offset"):
        small.list_models(offset=10 ** 400)
    with pytest.raises(ValidationError, match="since"):
        small.events(since=10 ** 400)
    assert small.get("churn:1").description == "" and small.comments("churn:1") == []


def test_the_cli_gives_one_line_errors_not_tracebacks(local_reg, model_file, capsys):
    run = cli_runner(local_reg.root, capsys)
    assert run("register", model_file, "churn")[0] == 0
    # argv bytes that are not UTF-8 reach Python as lone surrogates ($'\xff' in a shell)
    for argv, words in ((("describe", "churn:1", "caf\udcff"), "surrogate"), (("show", "churn:²"), "version"),
                        (("show", "churn:99999999999999999999999"), "version"),
                        (("compare", *["churn:1"] * 1001), "1000 refs"),
                        (("describe", "churn:1", "z" * 70_000), "65536")):
        code, out, err = run(*argv)
        assert code != 0 and "Traceback" not in err and words in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    assert local_reg.get("churn:1").description == ""


# -- the server's limits are its settings ----------------------------------------------------------
@pytest.fixture
def limits_config():
    return {"max_description_chars": 50, "max_metrics": 2, "max_compare_refs": 3, "max_body_bytes": 4096,
            "max_json_depth": 5, "max_lineage_bytes": 1000}


async def test_server_settings_set_the_limits_of_every_route(api, seed, model_file):
    seed.register(model_file, "churn")
    assert_clear_4xx(await api("PATCH", "/versions/churn%3A1", body={"description": "d" * 51}), "50")
    assert (await api("PATCH", "/versions/churn%3A1", body={"description": "d" * 50})).status == 200
    assert_clear_4xx(await api("GET", "/compare", params={"refs": "churn:1,churn:1,churn:1,churn:1"}), "3 refs")
    r = await api("POST", "/comments", body={"ref": "churn:1", "body": "b" * 5000})
    assert r.status == 413 and "4096" in r.json["message"]
    assert_clear_4xx(await api("POST", "/comments", raw_body=json.dumps(
        {"ref": "churn:1", "body": "x", "anchor": [[[[[["six"]]]]]]}).encode()), "deep")
    for meta in (file_meta("up", metrics={"a": 1, "b": 2, "c": 3}), file_meta("up", lineage={"n": "x" * 2000}),
                 file_meta("up", description="d" * 51)):
        r = await api("POST", "/versions", raw_body=upload_body(meta, {"model.txt": b"x"}),
                      headers={"Content-Type": "application/x-tar"})
        assert_clear_4xx(r)
    assert [m.name for m in seed.list_models()] == ["churn"]


@pytest.mark.parametrize("call", [
    lambda r: r.search("name = '\ud800'"), lambda r: r.events(model="\ud800"), lambda r: r.list_models("\ud800"),
    lambda r: r.history("churn", "\ud800"), lambda r: r.activity(since=10 ** 400), lambda r: r.gc(grace=10 ** 400),
    lambda r: r.gc(grace=float("nan")), lambda r: r.update_model("churn", tags={"a": 10 ** 5000}),
    lambda r: r.edit_comment(10 ** 30, "x"), lambda r: r.comment("churn:1", "x", reply_to=10 ** 30),
], ids=["search", "events", "list_models", "history", "activity", "gc-huge", "gc-nan", "tags", "edit_comment",
        "reply_to"])
def test_reads_and_writes_sqlite_cannot_bind_are_validation_errors(local_reg, model_file, call):
    """Before the fix each of these crashed with UnicodeEncodeError, OverflowError or ValueError."""
    local_reg.register(model_file, "churn")
    before = state(local_reg.root)[0]
    with pytest.raises(ValidationError):
        call(local_reg)
    assert state(local_reg.root)[0] == before


def test_the_standalone_server_reads_its_limits_from_its_config_file(tmp_path, monkeypatch):
    """``nbregistry server`` loads its limits from its config file on the Jupyter config path
    (``nbregistry_server_config.py``; ``jupyter_server_config.py`` once the server reads that name)."""
    import urllib.error
    import urllib.request

    from server.remote_fixture import TOKENS, start_server, stop_server

    config_dir = tmp_path / "jupyter-config"
    config_dir.mkdir()
    for name in ("nbregistry_server_config.py", "jupyter_server_config.py"):
        (config_dir / name).write_text("c.NBRegistry.max_compare_refs = 2\n")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config_dir))
    proc, url = start_server(tmp_path / "registry", users=TOKENS, log_path=tmp_path / "server.log")
    try:
        request = urllib.request.Request(f"{url}/nbregistry/api/compare?refs=a:1,a:1,a:1",
                                         headers={"Authorization": f"token {TOKENS['alice']}"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=30)
        assert err.value.code == 400 and "at most 2 refs" in json.loads(err.value.read())["message"]
    finally:
        stop_server(proc)


@pytest.mark.parametrize("raw,message", [
    (b'{"a": "\\ud800"}', "lone surrogate"), (b'{"a": ["ok", "\\uDFFF"]}', "lone surrogate"),
    (b'{"\\udbff": 1}', "lone surrogate"), (b'{"a": "\\\\ud800 \\ud800"}', "lone surrogate"),
    (b"[" * 9 + b"]" * 9, "nested too deep"), (b'{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}', "nested too deep"),
    (b'{"a": "\\ud83d\\ude00", "b": ' + b"[" * 8 + b"]" * 8 + b"}", "nested too deep"),
    (b'{"a": 1e400}', "finite"), (b'[NaN]', "finite"), (b'{"a": -99999999999999999999}', "64 bits"),
])
def test_untrusted_json_is_refused_with_or_without_escapes_in_the_text(raw, message):
    """loads_json skips the per-string surrogate check only when the text holds no \\uD800-\\uDFFF
    escape; both ways refuse the same input, with the same message."""
    from nbregistry.core.limits import loads_json

    with pytest.raises(ValidationError, match=message):
        loads_json(raw, "the body", max_depth=8)
    with pytest.raises(ValidationError, match=message):
        loads_json(raw.decode(), "the body", max_depth=8)


def test_untrusted_json_within_the_rules_is_returned_as_parsed():
    from nbregistry.core.limits import loads_json

    for raw in (b'{"a": "\\ud83d\\ude00 pair", "b": [1, 2.5, null, true]}', b'"plain"', b"7", b"[" * 8 + b"]" * 8,
                '{"caf\u00e9": "\u2603"}'.encode()):
        assert loads_json(raw, "the body", max_depth=8) == json.loads(raw)
