"""``python -m nbregistry.demo seed ROOT``: real models, an alias history, comments; idempotent."""

from __future__ import annotations

import subprocess
import sys

from helpers import state

from nbregistry import Registry


def test_seed_creates_real_models_with_history_and_is_idempotent(tmp_path):
    root = tmp_path / "demo"
    out = subprocess.run([sys.executable, "-m", "nbregistry.demo", "seed", str(root)], capture_output=True,
                         text=True, check=True).stdout
    assert "seeded churn, iris-classifier, diabetes-regressor" in out
    reg = Registry(root)
    try:
        assert [m.name for m in reg.list_models()] == ["churn", "diabetes-regressor", "iris-classifier"]
        for model in reg.list_models():
            assert model.version_count >= 3 and model.tags["seeded-by"] == "nbregistry.demo"
        churn = reg.list_versions("churn")
        assert all({"auc", "accuracy", "f1", "log_loss"} <= set(v.metrics) for v in churn)
        assert all(v.params for v in churn)
        assert {"rmse", "mae", "r2"} <= set(reg.get("diabetes-regressor:1").metrics)
        assert type(reg.load("iris-classifier@production", trust=True)).__name__ == "DecisionTreeClassifier"
        moves = reg.history("churn", "production")
        assert [(m.kind, m.version) for m in moves] == [("promote", 1), ("promote", 2), ("rollback", 1)]
        assert reg.get("churn@staging").version == 3
        assert {c.author for c in reg.comments("churn:2")} == {"alice", "bob", "carol"}
        assert reg.comments("churn:2")[1].reply_to == reg.comments("churn:2")[0].id
        assert reg.review_state("churn:3")["changes_requested"] == ["carol"]
        assert reg.get_policy("churn", "production").required_approvals == 1
    finally:
        reg.close()
    before = state(root)
    again = subprocess.run([sys.executable, "-m", "nbregistry.demo", "seed", str(root)], capture_output=True,
                           text=True, check=True).stdout
    assert "already seeded" in again
    assert state(root) == before


def test_demo_workspace_opens_the_panel_jupyterlab_registers(tmp_path):
    """make demo's workspace must name the panel id the labextension really uses, in a file
    JupyterLab's own workspace manager reads back."""
    import re
    from pathlib import Path

    from jupyterlab_server.workspaces_handler import WorkspacesManager

    from nbregistry.demo import main

    assert main(["workspace", str(tmp_path)]) == 0
    layout = WorkspacesManager(str(tmp_path)).load("default")["data"]["layout-restorer:data"]
    panel_source = (Path(__file__).resolve().parents[2] / "labextension" / "src" / "navigator.tsx").read_text()
    panel_id = re.search(r"this\.id = '([^']+)'", panel_source).group(1)
    assert layout["left"]["current"] == panel_id and panel_id in layout["left"]["widgets"]
    assert layout["left"]["collapsed"] is False
