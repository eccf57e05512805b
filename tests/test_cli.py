"""The ``nbregistry`` command line: every verb, its --json and human output, its errors and exit codes.

Most tests call ``main(argv)`` in-process against a real registry folder; a few run the installed
console script as a real subprocess to prove the entry point and exit codes.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli_runner, state
from nbregistry import cli
from nbregistry.cli import main

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "nbregistry"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def run(root, capsys):
    """``run("ls", "--json")`` -> (exit code, stdout, stderr), against ``root``."""
    return cli_runner(root, capsys)


@pytest.fixture
def files(tmp_path):
    """A small file and a folder to register."""
    one = tmp_path / "model.bin"
    one.write_bytes(b"weights v1")
    folder = tmp_path / "bundle"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"depth": 5}')
    (folder / "sub" / "weights.bin").write_bytes(b"weights v2")
    return one, folder


@pytest.fixture
def churn(run, files):
    """Model churn with versions 1 (file) and 2 (folder)."""
    one, folder = files
    run("register", str(one), "churn", "--metric", "auc=0.80", "--metric", "loss=0.30", "--param", "depth=3",
        "--tag", "team=growth", "--description", "first try", json_out=True)
    run("register", str(folder), "churn", "--metric", "auc=0.90", "--metric", "loss=0.35", "--param", "depth=5",
        json_out=True)
    return "churn"


def assert_error(result, code, pattern):
    exit_code, out, err = result
    assert exit_code == code, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbregistry: error: "), err
    assert re.search(pattern, lines[0]), lines[0]


# ==================================================================== register
def test_register_file_json_has_every_fact(run, files):
    one, _ = files
    v = run("register", str(one), "churn", "--metric", "auc=0.91", "--param", "depth=3", "--tag", "team=growth",
            "--description", "baseline", json_out=True)
    assert v["ref"] == "churn:1" and v["version"] == 1
    assert v["metrics"] == {"auc": 0.91}
    assert v["params"] == {"depth": "3"}
    assert v["tags"] == {"team": "growth"}
    assert v["description"] == "baseline"
    assert v["flavor"] == "file"
    assert v["author"] == "tester"
    assert [f["path"] for f in v["artifact"]["files"]] == ["model.bin"]
    assert v["artifact"]["size"] == len(b"weights v1")


def test_register_folder_human_and_dedup(run, files):
    _, folder = files
    code, out, err = run("register", str(folder), "bundle")
    assert code == 0 and err == ""
    assert "registered bundle:1" in out and "2 file(s)" in out
    assert "already stored" not in out
    code, out, _ = run("register", str(folder), "bundle")
    assert code == 0
    assert "registered bundle:2" in out and "identical content was already stored" in out
    v = run("show", "bundle:2", "--json", json_out=True)
    assert sorted(f["path"] for f in v["artifact"]["files"]) == ["config.json", "sub/weights.bin"]


def test_register_records_cli_origin(run, root, churn):
    from nbregistry import Registry

    reg = Registry(root)
    try:
        events = [e for e in reg.events() if e.action == "version.registered"]
    finally:
        reg.close()
    assert [e.origin for e in events] == ["cli", "cli"]


@pytest.mark.parametrize("argv, pattern", [
    (["--metric", "auc=nan"], r"metric 'auc' is nan: metrics must be finite"),
    (["--metric", "auc=inf"], r"metric 'auc' is inf"),
    (["--metric", "auc=high"], r"metric 'auc' must be a number"),
    (["--metric", "auc"], r"bad metric 'auc': write KEY=VALUE"),
    (["--param", "=3"], r"bad param '=3'"),
    (["--tag", "team"], r"bad tag 'team'"),
])
def test_register_bad_input_exits_2_and_stores_nothing(run, root, churn, files, argv, pattern):
    one, _ = files
    before = state(root)
    assert_error(run("register", str(one), "churn", *argv), 2, pattern)
    assert state(root) == before


def test_register_bad_name_and_missing_path_exit_2(run, root, churn, files, tmp_path):
    one, _ = files
    before = state(root)
    assert_error(run("register", str(one), "../etc"), 2, r"invalid model name '../etc'")
    assert_error(run("register", str(tmp_path / "nope.bin"), "churn"), 2, r"no file or folder at")
    assert state(root) == before


def test_register_shows_progress_on_a_terminal(run, tmp_path, monkeypatch, capsys):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    code, out, _ = run("register", str(big), "big")
    assert code == 0 and "registered big:1" in out
    shown = term.getvalue()
    assert "registering" in shown and "3.0 MiB" in shown and "%)" in shown
    assert shown.endswith("\r\033[K")  # the progress line is cleared at the end


def test_no_progress_when_stderr_is_not_a_terminal(run, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(2 << 20))
    code, out, err = run("register", str(big), "big")
    assert code == 0 and err == ""


# ==================================================================== ls, show, versions
def test_ls(run, churn, files):
    one, _ = files
    run("register", str(one), "fraud", json_out=True)
    code, out, err = run("ls")
    assert code == 0 and err == ""
    assert out.splitlines()[0].split()[:3] == ["NAME", "LATEST", "VERSIONS"]
    assert re.search(r"^churn\s+2\s+2\b", out, re.M)
    assert re.search(r"^fraud\s+1\s+1\b", out, re.M)

    data = run("ls", "--json", json_out=True)
    assert data["total"] == 2
    assert [m["name"] for m in data["models"]] == ["churn", "fraud"]
    assert data["models"][0]["latest_version"] == 2 and data["models"][0]["version_count"] == 2

    assert [m["name"] for m in run("ls", "--q", "RAU", "--json", json_out=True)["models"]] == ["fraud"]
    page = run("ls", "--limit", "1", "--offset", "1", "--json", json_out=True)
    assert [m["name"] for m in page["models"]] == ["fraud"] and page["total"] == 2
    code, out, _ = run("ls", "--limit", "1")
    assert "(1 of 2 shown" in out


def test_ls_empty_and_bad_limit(run, root):
    assert_error(run("ls"), 1, r"no registry at .*nothing was created")  # a read-only verb creates nothing
    from nbregistry import Registry

    Registry(root).close()
    code, out, _ = run("ls")
    assert code == 0 and "no models" in out
    assert_error(run("ls", "--limit", "0"), 2, r"limit must be an integer from 1 to 10000")
    assert_error(run("ls", "--limit", "many"), 2, r"invalid int value: 'many'")


def test_global_options_after_the_verb(root, churn, capsys, monkeypatch):
    monkeypatch.delenv("NBREGISTRY_ROOT")
    assert main(["ls", "--root", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1
    monkeypatch.setenv("NBREGISTRY_ROOT", str(root))  # and the environment when --root is absent
    assert main(["--json", "ls"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["name"] == "churn"


def test_show_version(run, churn):
    code, out, err = run("show", "churn:1")
    assert code == 0 and err == ""
    for fact in ("churn:1", "first try", "file", "model.bin", "auc", "0.8", "depth", "team", "growth", "tester"):
        assert fact in out, fact
    v = run("show", "churn", "--json", json_out=True)
    assert v["ref"] == "churn:2"  # a bare name is the latest active version
    assert v["lineage"]["python"]  # show includes lineage
    run("alias", "churn:1", "production", json_out=True)
    assert run("show", "churn@production", "--json", json_out=True)["ref"] == "churn:1"


def test_show_model(run, churn):
    m = run("show", "churn", "--model", "--json", json_out=True)
    assert m["name"] == "churn" and m["version_count"] == 2 and m["latest_version"] == 2
    code, out, _ = run("show", "churn", "--model")
    assert code == 0 and "latest version: 2" in out


def test_show_errors(run, root, churn):
    before = state(root)
    assert_error(run("show", "churn:x"), 2, r"invalid ref 'churn:x'")
    assert_error(run("show", "bad name!"), 2, r"invalid ref")
    assert_error(run("show", "churn@"), 2, r"invalid ref")
    assert_error(run("show", "nosuch"), 1, r"no model named 'nosuch'")
    assert_error(run("show", "churn:7"), 1, r"churn has no version 7")
    assert_error(run("show", "churn@production"), 1, r"churn has no alias 'production'")
    assert_error(run("show", "nosuch", "--model"), 1, r"no model named 'nosuch'")
    assert state(root) == before


def test_versions(run, churn):
    code, out, _ = run("versions", "churn")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "REF"
    assert lines[2].startswith("churn:2") and lines[3].startswith("churn:1")
    assert "auc=0.9" in lines[2]
    data = run("versions", "churn", "--json", json_out=True)
    assert data["total"] == 2 and [v["version"] for v in data["versions"]] == [2, 1]
    page = run("versions", "churn", "--limit", "1", "--offset", "1", "--json", json_out=True)
    assert [v["version"] for v in page["versions"]] == [1] and page["total"] == 2
    run("archive", "churn:1", json_out=True)
    active = run("versions", "churn", "--active", "--json", json_out=True)
    assert [v["version"] for v in active["versions"]] == [2] and active["total"] == 1
    assert_error(run("versions", "nosuch"), 1, r"no model named 'nosuch'")
    assert_error(run("versions", "churn:1"), 2, r"invalid model name")


# ==================================================================== search, compare, diff
def test_search(run, churn):
    data = run("search", "metrics.auc > 0.85", "--json", json_out=True)
    assert [v["ref"] for v in data["versions"]] == ["churn:2"]
    data = run("search", "name = churn", "--order-by", "metrics.loss asc", "--json", json_out=True)
    assert [v["ref"] for v in data["versions"]] == ["churn:1", "churn:2"]
    limited = run("search", "name = churn", "--limit", "1", "--json", json_out=True)
    assert len(limited["versions"]) == 1 and limited["total"] == 2 and limited["total_capped"] is False
    code, out, _ = run("search", "name = churn", "--limit", "1")
    assert code == 0 and "(1 of 2 shown" in out
    code, out, _ = run("search", "tags.team = 'growth'")
    assert code == 0 and "churn:1" in out and "churn:2" not in out
    code, out, _ = run("search", "metrics.auc > 5")
    assert code == 0 and "no versions" in out
    assert_error(run("search", "metric.auc > 1"), 2, r"unknown field 'metric.auc'")
    assert_error(run("search", "name = churn", "--order-by", "metrics.auc down"), 2, r"unknown order direction")


def test_compare_model(run, churn):
    c = run("compare", "churn", "--json", json_out=True)
    assert [v["ref"] for v in c["versions"]] == ["churn:2", "churn:1"]
    assert c["metrics"]["auc"]["goal"] == "max" and c["metrics"]["auc"]["best"] == [0]
    assert c["metrics"]["loss"]["goal"] == "min" and c["metrics"]["loss"]["best"] == [1]
    assert c["params"]["depth"] == {"values": ["5", "3"], "differs": True}
    code, out, _ = run("compare", "churn")
    assert code == 0
    assert re.search(r"^churn:2\s+0\.9 \*\s+0\.35\s*$", out, re.M), out
    assert re.search(r"^churn:1\s+0\.8\s+0\.3 \*\s*$", out, re.M), out
    assert "params that differ" in out and "depth" in out


def test_compare_refs_and_goal(run, churn):
    c = run("compare", "churn:1", "churn:2", "--goal", "loss:max", "--json", json_out=True)
    assert [v["ref"] for v in c["versions"]] == ["churn:1", "churn:2"]
    assert c["metrics"]["loss"] == {"values": [0.3, 0.35], "goal": "max", "best": [1]}
    c = run("compare", "churn:1", "churn:2", "--goal", "auc:min,loss:max", "--json", json_out=True)
    assert c["metrics"]["auc"]["best"] == [0] and c["metrics"]["loss"]["best"] == [1]
    assert_error(run("compare", "churn", "--goal", "auc:up"), 2, r"goal for metric 'auc' must be 'max' or 'min'")
    assert_error(run("compare", "churn", "--goal", "auc"), 2, r"bad goal 'auc'")
    assert_error(run("compare", "churn:1", "churn:9"), 1, r"churn has no version 9")
    assert_error(run("compare", "nosuch"), 1, r"no model named 'nosuch'")


def test_diff(run, churn):
    d = run("diff", "churn:1", "churn:2", "--json", json_out=True)
    assert d["a"] == "churn:1" and d["b"] == "churn:2"
    assert {"key": "auc", "a": 0.8, "b": 0.9} in d["changes"]["metrics"]
    assert {"key": "depth", "a": "3", "b": "5"} in d["changes"]["params"]
    assert {"key": "team", "a": "growth", "b": None} in d["changes"]["tags"]
    code, out, _ = run("diff", "churn:1", "churn:2")
    assert code == 0 and "churn:1 -> churn:2" in out
    assert re.search(r"^depth\s+3\s+5$", out, re.M), out
    code, out, _ = run("diff", "churn:1", "churn:1")
    assert code == 0 and "no differences" in out
    assert_error(run("diff", "churn:1", "churn:;"), 2, r"invalid ref")
    assert_error(run("diff", "churn:1"), 2, r"the following arguments are required: b")


# ==================================================================== aliases and history
def test_alias_set_move_remove_and_history(run, root, churn):
    move = run("alias", "churn:1", "production", "--reason", "first", "--json", json_out=True)
    assert move["model"] == "churn" and move["alias"] == "production"
    assert move["version"] == 1 and move["previous"] is None and move["reason"] == "first"
    code, out, _ = run("alias", "churn:2", "production")
    assert code == 0 and out.strip() == "churn@production -> churn:2 (was churn:1)"
    run("alias", "churn:2", "staging", json_out=True)
    removed = run("alias", "--remove", "churn", "staging", "--json", json_out=True)
    assert removed["version"] is None and removed["previous"] == 2

    moves = run("history", "churn", "--json", json_out=True)["moves"]
    assert [(m["alias"], m["previous"], m["version"]) for m in moves] == [
        ("production", None, 1), ("production", 1, 2), ("staging", None, 2), ("staging", 2, None)]
    only = run("history", "churn@production", "--json", json_out=True)["moves"]
    assert [m["version"] for m in only] == [1, 2]
    code, out, _ = run("history", "churn@production")
    assert code == 0 and "first" in out and "tester" in out and "staging" not in out


def test_alias_errors_change_nothing(run, root, churn):
    run("alias", "churn:1", "production", json_out=True)
    before = state(root)
    assert_error(run("alias", "churn:1", "latest"), 2, r"alias 'latest' is reserved")
    assert_error(run("alias", "churn:1", "9lives"), 2, r"invalid alias '9lives'")
    assert_error(run("alias", "churn:9", "production"), 1, r"churn has no version 9")
    assert_error(run("alias", "--remove", "churn", "staging"), 1, r"churn has no alias 'staging'")
    assert_error(run("alias", "--remove", "nosuch", "production"), 1, r"no model named 'nosuch'")
    assert_error(run("history", "nosuch"), 1, r"no model named 'nosuch'")
    assert state(root) == before
    code, out, _ = run("history", "churn@staging")
    assert code == 0 and "no alias moves" in out


# ==================================================================== tag, describe, archive, delete
def test_tag_version_and_model(run, root, churn):
    v = run("tag", "churn:1", "stage=candidate", "owner=ana", "--remove", "team", "--json", json_out=True)
    assert v["tags"] == {"stage": "candidate", "owner": "ana"}
    code, out, _ = run("tag", "churn:1", "--remove", "owner")
    assert code == 0 and "stage" in out and "owner" not in out
    m = run("tag", "churn", "domain=retail", "--model", "--json", json_out=True)
    assert m["tags"] == {"domain": "retail"}
    before = state(root)
    assert_error(run("tag", "churn:1"), 2, r"give tags as KEY=VALUE")
    assert_error(run("tag", "churn:1", "novalue"), 2, r"bad tag 'novalue'")
    assert_error(run("tag", "churn:5", "a=b"), 1, r"churn has no version 5")
    assert state(root) == before


def test_describe_version_and_model(run, churn):
    v = run("describe", "churn:2", "deeper trees", "--json", json_out=True)
    assert v["description"] == "deeper trees"
    code, out, _ = run("describe", "churn", "churn predictor", "--model")
    assert code == 0 and "churn predictor" in out
    assert run("show", "churn", "--model", "--json", json_out=True)["description"] == "churn predictor"
    assert_error(run("describe", "nosuch", "x", "--model"), 1, r"no model named 'nosuch'")


def test_archive_and_restore(run, churn):
    v = run("archive", "churn:2", "--json", json_out=True)
    assert v["status"] == "archived"
    assert run("show", "churn", "--json", json_out=True)["ref"] == "churn:1"  # latest *active*
    assert run("archive", "churn:2", "--restore", "--json", json_out=True)["status"] == "active"

    m = run("archive", "churn", "--model", "--json", json_out=True)
    assert m["archived"] is True
    assert run("ls", "--json", json_out=True)["total"] == 0
    assert run("ls", "--archived", "--json", json_out=True)["models"][0]["name"] == "churn"
    code, out, _ = run("archive", "churn", "--model", "--restore")
    assert code == 0 and "status:         active" in out
    assert run("ls", "--json", json_out=True)["total"] == 1


def test_delete(run, root, churn):
    run("alias", "churn:2", "production", json_out=True)
    before = state(root)
    assert_error(run("delete", "churn"), 2, r"delete needs an explicit version")
    assert_error(run("delete", "churn@production"), 2, r"delete needs an explicit version")
    assert_error(run("delete", "churn:2"), 1, r"churn:2 holds alias\(es\) production")
    assert_error(run("delete", "churn:9"), 1, r"churn has no version 9")
    assert state(root) == before

    assert run("delete", "churn:1", "--json", json_out=True) == {"deleted": "churn:1"}
    assert [v["version"] for v in run("versions", "churn", "--json", json_out=True)["versions"]] == [2]
    code, out, _ = run("delete", "churn:2")
    assert code == 1


# ==================================================================== verify and gc
def test_verify_clean_then_tampered(run, root, churn):
    report = run("verify", "--json", json_out=True)
    assert report["ok"] is True and report["problems"] == []
    assert report["checked_versions"] == 2 and report["checked_blobs"] == 4  # 2 files, 1 example, 1 environment
    code, out, _ = run("verify", "--fast")
    assert code == 0 and "2 versions" in out and "clean" in out and "--fast" in out

    v = run("show", "churn:1", "--json", json_out=True)
    sha = v["artifact"]["files"][0]["sha256"]
    blob = root / "objects" / sha[:2] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(b"weights v!")  # same size: only a full verify notices
    assert run("verify", "--fast")[0] == 0
    code, out, err = run("verify")
    assert code == 1 and err == ""
    assert "1 problem" in out and "churn:1" in out and "content does not match its hash" in out
    code, out, _ = run("verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert report["problems"] == [{"ref": "churn:1", "blob": sha, "path": "model.bin",
                                   "problem": "content does not match its hash"}]


def test_gc(run, root, churn):
    v1 = run("show", "churn:1", "--json", json_out=True)
    run("delete", "churn:1", json_out=True)
    blob_sha = v1["artifact"]["files"][0]["sha256"]
    blob = root / "objects" / blob_sha[:2] / blob_sha

    kept = run("gc", "--json", json_out=True)  # default grace: an hour, so nothing goes yet
    assert kept["removed_blobs"] == 0 and kept["kept_recent"] == 2 and blob.exists()

    dry = run("gc", "--grace", "0", "--dry-run", "--json", json_out=True)
    assert dry["dry_run"] is True and dry["removed_blobs"] == 2 and blob_sha in dry["removed"]
    assert blob.exists()

    code, out, _ = run("gc", "--grace", "0")
    assert code == 0 and "removed 2 unreferenced blobs" in out
    assert not blob.exists()
    assert run("verify", "--json", json_out=True)["ok"] is True
    assert_error(run("gc", "--grace", "soon"), 2, r"invalid float value: 'soon'")


# ==================================================================== the parser itself
def test_no_verb_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "usage: nbregistry" in err and "register" in err


def test_unknown_verb_and_option(run):
    assert_error(run("frobnicate"), 2, r"invalid choice: 'frobnicate'")
    assert_error(run("ls", "--bogus"), 2, r"unrecognized arguments: --bogus")


def test_version_flag(capsys):
    from nbregistry import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"nbregistry {__version__}"


def test_every_verb_is_documented():
    doc = (REPO / "docs" / "cli.md").read_text()
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    verbs = set(sub.choices)
    assert {"ls", "show", "register", "verify", "gc"} <= verbs  # the check below sees the real list
    missing = [v for v in sorted(verbs) if f"### `nbregistry {v}`" not in doc]
    assert not missing, f"verbs missing from docs/cli.md: {missing}"


def test_table_aligns_columns_and_numbers():
    text = cli.table([["a", 1, 0.5], ["long name", 100, None]], ["NAME", "N", "X"])
    assert text.splitlines() == [
        "NAME         N    X",
        "---------  ---  ---",
        "a            1  0.5",
        "long name  100    -",
    ]


# ==================================================================== real subprocesses
def _cli(*argv, env=None):
    return subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_console_script_exit_codes(root, files):
    one, _ = files
    ok = _cli("--root", str(root), "register", str(one), "churn", "--metric", "auc=0.7", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ref"] == "churn:1"

    shown = _cli("show", "churn:1", env={"NBREGISTRY_ROOT": str(root)})
    assert shown.returncode == 0 and "auc" in shown.stdout

    missing = _cli("--root", str(root), "show", "nosuch")
    assert missing.returncode == 1
    assert missing.stderr == "nbregistry: error: no model named 'nosuch'\n" and missing.stdout == ""

    before = state(root)
    bad = _cli("--root", str(root), "register", str(one), "churn", "--metric", "auc=nan")
    assert bad.returncode == 2 and bad.stderr.startswith("nbregistry: error: metric 'auc' is nan")
    assert state(root) == before

    usage = _cli("--root", str(root), "delete", "churn")
    assert usage.returncode == 2 and "explicit version" in usage.stderr

    version = _cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("nbregistry ")


HEAVY = ("pandas", "numpy", "sklearn", "traitlets", "tornado", "nbregistry.server", "nbregistry.cli_collab")


def _imported_by(root, argv, prelude=""):
    probe = (prelude + "import sys; from nbregistry.cli import main; code = main(sys.argv[1:]); "
             f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe, "--root", str(root), *argv], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_cli_does_not_import_heavy_packages(root, churn):
    for argv in (["ls"], ["show", "churn"], ["versions", "churn"], ["compare", "churn"], ["search", "name = churn"],
                 ["history", "churn"], ["verify"]):
        assert _imported_by(root, argv) == "0 []", argv
    # the probe sees heavy imports when there are some, and other faces' verb modules load when named
    assert _imported_by(root, ["ls"], prelude="import pandas; ") == "0 ['numpy', 'pandas']"
    assert "nbregistry.cli_collab" in _imported_by(root, ["comments", "churn"])
