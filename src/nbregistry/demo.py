"""``python -m nbregistry.demo seed ROOT``: a registry with real models to explore.

Seeds three models trained with scikit-learn on datasets that ship with it (no download):

- ``churn`` — binary classifiers on ``breast_cancer`` (a stand-in for a churn table): logistic
  regression, random forest, gradient boosting; metrics auc / accuracy / f1 / log_loss;
- ``iris-classifier`` — decision trees of growing depth and a k-NN on ``iris``;
- ``diabetes-regressor`` — ridge and random-forest regressors on ``diabetes``; rmse / mae / r2.

On ``churn`` it also leaves what a team would: a policy on ``production`` (one approval and an auc
gate), comments and reviews by several people, and an alias history with promotions and a rollback.

Idempotent: a model that already exists is left alone (the seeded ones are tagged
``seeded-by=nbregistry.demo``), so re-running on a seeded root does nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MARK = {"seeded-by": "nbregistry.demo"}


def _split(loader, **kwargs):
    from sklearn.model_selection import train_test_split

    X, y = loader(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, **kwargs)


def _classification(model, X_test, y_test, *, proba: bool = True, binary: bool = True) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    pred = model.predict(X_test)
    out = {"accuracy": accuracy_score(y_test, pred),
           "f1": f1_score(y_test, pred, average="binary" if binary else "macro")}
    if proba and binary:
        p = model.predict_proba(X_test)
        out["auc"] = roc_auc_score(y_test, p[:, 1])
        out["log_loss"] = log_loss(y_test, p)
    return out


def _regression(model, X_test, y_test) -> dict:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    pred = model.predict(X_test)
    return {"rmse": mean_squared_error(y_test, pred) ** 0.5, "mae": mean_absolute_error(y_test, pred),
            "r2": r2_score(y_test, pred)}


def _exists(reg, name: str) -> bool:
    """A model of that name is there: seeded earlier, or the user's own (never added to)."""
    from .core.errors import NotFound

    try:
        reg.get_model(name)
    except NotFound:
        return False
    return True


def _churn(reg) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = _split(load_breast_cancer, stratify=None)
    candidates = [
        ("alice", make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000)),
         "Baseline: scaled logistic regression.", {"stage": "baseline"}),
        ("bob", RandomForestClassifier(n_estimators=60, max_depth=6, random_state=0),
         "Random forest, 60 trees of depth 6.", {"stage": "candidate"}),
        ("alice", GradientBoostingClassifier(n_estimators=80, max_depth=2, random_state=0),
         "Gradient boosting, shallow trees.", {"stage": "candidate"}),
    ]
    for author, model, description, tags in candidates:
        reg.author = author
        model.fit(X_train, y_train)
        reg.register(model, "churn", metrics=_classification(model, X_test, y_test), tags=tags,
                     description=description, data={"X_train": X_train, "y_train": y_train},
                     input_example=X_test.head(5))
    reg.author = "alice"
    reg.update_model("churn", description="Who is about to leave? (breast_cancer stands in for a churn table.)",
                     tags={**MARK, "team": "retention"})
    if not hasattr(reg, "promote"):  # a core without the collaboration verbs: plain aliases
        reg.set_alias("churn:1", "production", reason="first model")
        reg.set_alias("churn:2", "staging")
        return
    reg.set_policy("churn", "production", {"required_approvals": 1,
                                           "gates": ["metrics.auc >= current.metrics.auc - 0.02"]})
    reg.promote("churn:1", "staging", reason="baseline for comparison")
    reg.author = "bob"
    reg.review("churn:1", "approve", "Simple and well calibrated. Good first production model.")
    reg.author = "alice"
    reg.promote("churn:1", "production", reason="first model in production")
    reg.comment("churn:2", "The forest gains ~1 point of AUC. Is the depth limit tuned or a guess?",
                anchor="params.max_depth")
    reg.author = "bob"
    first = reg.comments("churn:2")[0]
    reg.comment("churn:2", "A guess; depth 4-8 all land within 0.3 points. Kept 6.", reply_to=first.id)
    reg.author = "carol"
    reg.review("churn:2", "approve", "Checked the confusion matrix on the holdout: fine.")
    reg.author = "bob"
    reg.promote("churn:2", "staging", reason="forest candidate")
    reg.promote("churn:2", "production", reason="better AUC, approved by carol")
    reg.author = "carol"
    reg.comment("churn", "Production alerts on latency after the forest rollout; rolling back while we look.")
    reg.rollback("churn@production", reason="latency regression in the scoring service")
    reg.review("churn:3", "request-changes", "Accuracy and f1 are below churn:2's: check the decision threshold first.")
    reg.author = "alice"
    reg.promote("churn:3", "staging", reason="boosting candidate, needs calibration")


def _iris(reg) -> None:
    from sklearn.datasets import load_iris
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    X_train, X_test, y_train, y_test = _split(load_iris)
    reg.author = "dana"
    for model, description in ((DecisionTreeClassifier(max_depth=1, random_state=0), "A stump."),
                               (DecisionTreeClassifier(max_depth=3, random_state=0), "Depth-3 tree."),
                               (KNeighborsClassifier(n_neighbors=7), "7 nearest neighbours.")):
        model.fit(X_train, y_train)
        reg.register(model, "iris-classifier", metrics=_classification(model, X_test, y_test, binary=False),
                     description=description, data={"X_train": X_train}, input_example=X_test.head(5))
    reg.update_model("iris-classifier", description="Species from petal and sepal sizes.", tags=MARK)
    (reg.promote if hasattr(reg, "promote") else reg.set_alias)("iris-classifier:2", "production")
    if hasattr(reg, "comment"):
        reg.comment("iris-classifier:3", "k-NN ties the tree but is slower to score; keeping the tree.")


def _diabetes(reg) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    X_train, X_test, y_train, y_test = _split(load_diabetes)
    reg.author = "erin"
    for model, description in ((Ridge(alpha=1.0), "Ridge, alpha 1."), (Ridge(alpha=0.1), "Ridge, alpha 0.1."),
                               (RandomForestRegressor(n_estimators=60, max_depth=5, random_state=0),
                                "Random forest regressor.")):
        model.fit(X_train, y_train)
        reg.register(model, "diabetes-regressor", metrics=_regression(model, X_test, y_test),
                     description=description, data={"X_train": X_train}, input_example=X_test.head(5))
    reg.update_model("diabetes-regressor", description="Disease progression one year out.", tags=MARK)
    (reg.promote if hasattr(reg, "promote") else reg.set_alias)("diabetes-regressor:2", "staging")


SEEDS = {"churn": _churn, "iris-classifier": _iris, "diabetes-regressor": _diabetes}


def seed(root: str | Path) -> list[str]:
    """Seed ``root`` with the demo models; returns the names seeded now (empty when already seeded)."""
    from .core.registry import Registry

    reg = Registry(root, author="alice", origin="cli")
    done = []
    try:
        for name, build in SEEDS.items():
            if _exists(reg, name):
                continue
            build(reg)
            done.append(name)
    finally:
        reg.close()
    return done


def demo_workspace() -> dict:
    """A JupyterLab workspace whose left sidebar shows the Model Registry panel, wide enough for its
    tables, so a newcomer sees the seeded registry at once. The main area is left to ``jupyter lab``'s
    own argument (the quickstart notebook)."""
    return {
        "data": {
            "layout-restorer:data": {
                "left": {"collapsed": False, "visible": True, "current": "nbregistry-panel",
                         "widgets": ["filebrowser", "nbregistry-panel"]},
                "right": {"collapsed": True, "visible": True, "widgets": []},
                "relativeSizes": [0.3, 0.7, 0],
            },
        },
        "metadata": {"id": "default"},
    }


def write_workspace(folder: str | Path) -> Path:
    """Save :func:`demo_workspace` as JupyterLab's default workspace in ``folder`` (its workspaces_dir)."""
    import json

    from jupyterlab_server.workspaces_handler import WorkspacesManager

    return Path(WorkspacesManager(str(folder)).save("default", json.dumps(demo_workspace())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nbregistry.demo",
                                     description="Seed a registry with real scikit-learn models to explore.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed", help="seed ROOT (does nothing when it is already seeded)")
    p.add_argument("root", help="the registry folder (created if missing)")
    w = sub.add_parser("workspace", help="write a JupyterLab workspace (panel open) into FOLDER")
    w.add_argument("folder", help="JupyterLab's workspaces_dir")
    args = parser.parse_args(argv)
    if args.command == "workspace":
        print(f"wrote {write_workspace(args.folder)}")
        return 0
    done = seed(args.root)
    if done:
        print(f"seeded {', '.join(done)} in {args.root}")
    else:
        print(f"{args.root} is already seeded: nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
