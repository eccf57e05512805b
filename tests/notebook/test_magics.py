"""%register and %registry in a real IPython shell, checked against the registry's state."""

from __future__ import annotations

import pytest
from nbhelpers import run, run_error, snapshot
from IPython.core.error import UsageError

from nbregistry.notebook import magics as magics_mod

TRAIN = [
    "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression",
    "X_train, y_train = load_iris(return_X_y=True, as_frame=True)",
    "model = LogisticRegression(C=0.5, max_iter=500)",
    "model.fit(X_train, y_train)",
    "scores = {'acc': model.score(X_train, y_train)}",
]


def train(shell):
    for cell in TRAIN:
        run(shell, cell)


def test_register_with_every_option(shell, reg, capsys):
    train(shell)
    run(shell, "hp = {'solver': 'lbfgs'}")
    run(shell, "%register model --name churn --metrics scores f1=0.5 --params hp C=0.5 --data X_train y_train "
               "--tag team=risk --tag stage=dev --description 'first try' --alias staging")
    v = reg.get("churn:1")
    assert v.metrics == {"acc": pytest.approx(shell.user_ns["scores"]["acc"]), "f1": 0.5}
    assert v.params == {"solver": "lbfgs", "C": "0.5"}
    assert v.tags == {"team": "risk", "stage": "dev"}
    assert v.description == "first try"
    assert v.aliases == ["staging"]
    assert set(v.lineage["data"]) == {"X_train", "y_train"}
    assert v.signature["type"] == "dataframe" and reg.input_example("churn:1").shape == (5, 4)
    nb = v.lineage["notebook"]
    assert [c["execution_count"] for c in nb["cells"]] == [1, 2, 3, 4, 5, 6]
    assert nb["variables"]["metrics"] == "scores" and nb["variables"]["model"] == "model"
    out = capsys.readouterr().out
    assert "registered churn:1" in out and "6 cell(s)" in out and "@staging" in out
    moves = reg.history("churn")
    assert [(m.alias, m.version) for m in moves] == [("staging", 1)]


def test_register_without_name_uses_the_variable_name_and_reports_dedup(shell, reg, capsys):
    train(shell)
    run(shell, "%register model")
    run(shell, "%register model")
    assert [v.version for v in reg.list_versions("model")] == [2, 1]
    assert reg.get("model:1").params["C"] == "0.5"  # picked up from get_params()
    assert "deduplicated" in capsys.readouterr().out


def test_register_warns_in_the_card_when_a_cell_was_re_executed(shell, reg, capsys):
    train(shell)
    run(shell, TRAIN[1])  # the data cell runs again after the model was trained on its earlier result
    run(shell, "%register model --name churn --data X_train")
    warnings = reg.get("churn:1").lineage["notebook"]["warnings"]
    assert any("re-executed" in w for w in warnings)
    assert any("X_train was reassigned" in w for w in warnings)
    assert "re-executed" in capsys.readouterr().out


@pytest.mark.parametrize("line, fragment", [
    ("%register nothere", "'nothere'"),
    ("%register model --metrics missing_dict", "'missing_dict'"),
    ("%register model --data X_train nope_data", "'nope_data'"),
    ("%register model --metrics acc=high", "'high' is not a number"),
    ("%register model --metrics X_train", "not a dict"),
    ("%register model --tag novalue", "KEY=VALUE"),
    ("%register model --name 'bad name!'", "invalid model name"),
    ("%register model --bogus", "unrecognized arguments: --bogus"),
    ("%register model --description 'unclosed", "check the quotes"),
    ("%registry", "needs a verb"),
    ("%registry frobnicate", "unknown verb 'frobnicate'"),
    ("%registry show ghost", "no model named 'ghost'"),
    ("%registry show model:99", "model has no version 99"),
    ("%registry show model@prod", "no alias 'prod'"),
    ("%registry diff model:1", "the following arguments are required: b"),
    ("%registry load model:1 into m", "expected 'as VARIABLE'"),
    ("%registry load model:1 as 1x", "not a valid variable name"),
    ("%registry compare model --goals acc:best", "must be 'max' or 'min'"),
    ("%registry review model:1 maybe", "invalid choice: 'maybe'"),
    ("%registry comment model:1", "the comment is empty"),
])
def test_bad_input_is_one_readable_usage_error_and_changes_nothing(shell, reg, line, fragment):
    train(shell)
    run(shell, "%register model")
    before = snapshot(reg)
    error = run_error(shell, line)
    assert isinstance(error, UsageError), repr(error)
    assert fragment in str(error)
    assert "\n" not in str(error)
    assert snapshot(reg) == before


def test_registry_verbs_read_the_registry(shell, reg):
    train(shell)
    run(shell, "%register model --name churn --metrics scores")
    run(shell, "model2 = LogisticRegression(C=2.0, max_iter=500).fit(X_train, y_train)")
    run(shell, "%register model2 --name churn --metrics acc=0.1")
    assert [m.name for m in run(shell, "%registry list")] == ["churn"]
    assert run(shell, "%registry list nomatch") == []
    assert run(shell, "%registry show churn").ref == "churn:2"
    assert [v.ref for v in run(shell, "%registry versions churn")] == ["churn:2", "churn:1"]
    assert [v.ref for v in run(shell, "%registry search metrics.acc > 0.5")] == ["churn:1"]
    comparison = run(shell, "%registry compare churn")
    assert comparison.best == {"acc": "churn:1"}
    assert run(shell, "%registry compare churn --goals acc:min").best == {"acc": "churn:2"}
    assert run(shell, "%registry compare churn:1 churn:2").refs == ["churn:1", "churn:2"]
    diff = run(shell, "%registry diff churn:1 churn:2")
    assert {c["key"] for c in diff.changes["params"]} == {"C"}


def test_promote_check_rollback_history_and_load(shell, reg, as_user):
    train(shell)
    run(shell, "%register model --name churn")
    run(shell, "%register model --name churn --description again")
    move = run(shell, "%registry promote churn:1 production --reason 'first release'")
    assert (move.alias, move.version, move.reason) == ("production", 1, "first release")
    run(shell, "%registry promote churn:2 production")
    assert reg.get("churn@production").version == 2
    assert run(shell, "%registry check churn:1 production").allowed
    run(shell, "%registry rollback churn@production --reason oops")
    assert reg.get("churn@production").version == 1
    history = run(shell, "%registry history churn")
    assert [(m.kind, m.version) for m in history] == [("promote", 1), ("promote", 2), ("rollback", 1)]
    run(shell, "%registry load churn@production as loaded")
    assert type(shell.user_ns["loaded"]).__name__ == "LogisticRegression"
    assert run(shell, "%registry load churn:2").get_params()["C"] == 0.5


def test_refused_promotion_shows_the_report_and_leaves_the_alias(shell, reg, capsys):
    train(shell)
    run(shell, "%register model --name churn")
    reg.set_policy("churn", "production", {"required_approvals": 1})
    before = snapshot(reg)
    error = run_error(shell, "%registry promote churn:1 production")
    assert isinstance(error, UsageError) and "refused" in str(error)
    assert snapshot(reg) == before
    assert "refused" in capsys.readouterr().out  # the gate report was displayed
    assert run(shell, "%registry check churn:1 production").allowed is False


def test_comments_and_reviews_line_and_cell(shell, reg, as_user):
    train(shell)
    run(shell, "%register model --name churn --metrics scores")
    run(shell, "%registry comment churn:1 looks fine to me")
    run(shell, "%%registry comment churn:1 --anchor metrics.acc\n## Accuracy\n\nIs *this* on the train set?\n")
    with as_user(reg, "bob"):
        run(shell, "%%registry review churn:1 approve\nShip it.")
    thread = reg.comments("churn:1")
    assert [c.body for c in thread] == ["looks fine to me", "## Accuracy\n\nIs *this* on the train set?", "Ship it."]
    assert thread[1].anchor == "metrics.acc"
    assert thread[2].verdict == "approve" and thread[2].author == "bob"
    assert reg.review_state("churn:1")["approvals"] == ["bob"]
    reply = run(shell, f"%registry comment churn:1 --reply-to {thread[1].id} agreed, it's the train set")
    assert reply.body == "agreed, it's the train set"
    assert reply.reply_to == thread[1].id
    assert len(run(shell, "%registry comments churn:1")) == 4
    assert any(item.action for item in run(shell, "%registry activity --model churn"))


def test_cell_body_only_for_comment_review_and_card(shell, reg):
    error = run_error(shell, "%%registry list\nbody")
    assert isinstance(error, UsageError) and "only for comment, review and card" in str(error)


def test_reproduce_verb_writes_a_notebook(shell, reg, tmp_path):
    train(shell)
    run(shell, "%register model --name churn --metrics scores")
    out = tmp_path / "again.ipynb"
    run(shell, f"%registry reproduce churn:1 -o {out}")
    assert out.exists() and "model.fit(X_train, y_train)" in out.read_text()


def test_every_verb_has_help_and_is_documented_in_registry_help(shell):
    doc = shell.find_line_magic("registry").__doc__
    assert magics_mod.VERBS, "no verbs registered"
    for verb, parser in magics_mod.VERBS.items():
        assert parser.description and parser.description.strip(), f"{verb} has no help text"
        assert f"%registry {verb}" in doc, f"{verb} missing from %registry?"
        assert magics_mod.VERB_HELP[verb] in doc
    # the verbs the issue names are all there
    assert {"list", "show", "versions", "search", "compare", "diff", "promote", "check", "rollback", "history",
            "comment", "review", "load", "reproduce"} <= set(magics_mod.VERBS)
    register_doc = shell.find_line_magic("register").__doc__
    for option in ("--name", "--metrics", "--params", "--data", "--tag", "--description", "--alias"):
        assert option in register_doc
    with pytest.raises(ValueError, match="help text"):
        magics_mod._Parser("%registry nohelp", "")


def test_root_and_author_come_from_traitlets_config(_ipython, tmp_path):
    from nbregistry import Registry

    ip = _ipython
    if "nbregistry" in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", "nbregistry")
    ip.reset(new_session=True)
    ip.config.RegistryMagics.root = str(tmp_path / "configured")
    ip.config.RegistryMagics.author = "carol"
    try:
        ip.run_line_magic("load_ext", "nbregistry")
        ip.run_cell("thing = {'a': 1}\nimport pathlib\np = pathlib.Path('x.txt')\np.write_text('hi')",
                    store_history=True)
        ip.run_line_magic("register", "p --name notes")
        check = Registry(tmp_path / "configured")
        assert check.get("notes:1").author == "carol"
        check.close()
        # %reload_ext gives a fresh magics instance that still works
        first = ip.magics_manager.registry["RegistryMagics"]
        ip.run_line_magic("reload_ext", "nbregistry")
        second = ip.magics_manager.registry["RegistryMagics"]
        assert second is not first and first._registry is None
        assert [m.name for m in ip.run_line_magic("registry", "list")] == ["notes"]
    finally:
        del ip.config.RegistryMagics
        if "nbregistry" in ip.extension_manager.loaded:
            ip.run_line_magic("unload_ext", "nbregistry")
        (tmp_path / "x.txt").unlink(missing_ok=True)
        import os
        if os.path.exists("x.txt"):
            os.remove("x.txt")


def test_unload_removes_the_magics(_ipython):
    ip = _ipython
    if "nbregistry" not in ip.extension_manager.loaded:
        ip.run_line_magic("load_ext", "nbregistry")
    assert ip.find_line_magic("register") is not None
    ip.run_line_magic("unload_ext", "nbregistry")
    assert ip.find_line_magic("register") is None and ip.find_cell_magic("registry") is None
    assert "RegistryMagics" not in ip.magics_manager.registry


def test_every_verb_is_documented_in_docs_notebook_md():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "notebook.md").read_text()
    for verb in magics_mod.VERBS:
        assert f"`%registry {verb}`" in doc, f"docs/notebook.md does not document %registry {verb}"
    for action in magics_mod.REGISTER_PARSER._actions:
        for option in action.option_strings:
            if option.startswith("--"):
                assert f"`{option}`" in doc, f"docs/notebook.md does not document %register {option}"


def test_loading_someone_elses_pickle_needs_trust(shell, reg, as_user):
    with as_user(reg, "bob"):
        reg.register({"weights": [1, 2]}, "blob", flavor="pickle")
    error = run_error(shell, "%registry load blob:1 as w")
    assert isinstance(error, UsageError) and "--trust" in str(error) and "bob" in str(error)
    assert "w" not in shell.user_ns
    run(shell, "%registry load blob:1 as w --trust")
    assert shell.user_ns["w"] == {"weights": [1, 2]}


def test_history_at_a_time_resolves_the_alias_then(shell, reg, iris_model):
    reg.register(iris_model, "churn")
    before = "2000-01-01T00:00:00Z"
    reg.promote("churn:1", "production")
    assert run(shell, "%registry history churn@production --at 2999-01-01T00:00:00Z").ref == "churn:1"
    assert run(shell, f"%registry history churn@production --at {before}") is None


def test_search_keeps_the_quotes_of_its_expression(shell, reg, iris_model):
    reg.register(iris_model, "churn-eu", metrics={"val auc": 0.9, "auc": 0.7}, tags={"team": "risk"})
    reg.register(iris_model, "churn-us", metrics={"val auc": 0.6, "auc": 0.8}, tags={"team": "growth"})
    reg.register(iris_model, "fraud", metrics={"val auc": 0.95, "auc": 0.9})
    found = run(shell, """%registry search name LIKE 'churn%' AND metrics."val auc" > 0.5 --order-by "metrics.auc desc" """)
    assert [v.ref for v in found] == ["churn-us:1", "churn-eu:1"]
    assert [v.ref for v in run(shell, "%registry search tags.team IN (risk, growth) --limit 1 --order-by metrics.auc asc")] \
        == ["churn-eu:1"]
    assert len(run(shell, "%registry search")) == 3
    for line, fragment in (("%registry search --limit many", "--limit needs a number"),
                           ("%registry search auc > 1 --fast", "unknown option"),
                           ("%registry search metrics.auc >>> 2", "")):
        error = run_error(shell, line)
        assert isinstance(error, UsageError) and fragment in str(error)
