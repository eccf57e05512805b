"""MLflow's side of bench_core.py, run in its own process so MLflow's imports do not slow nbregistry's rows.

    python bench/bench_mlflow.py WORK_DIR SIZES_JSON [BIG_FILE]

Prints one JSON object: row key -> cell text. Uses MLflow's local file store (``file://`` URIs, with
``MLFLOW_ALLOW_FILE_STORE=true``): mlflow-skinny has no SQLAlchemy for a ``sqlite://`` backend.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from bench_core import disk_bytes, median_time  # same folder; importing it loads no nbregistry


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    work, sizes = Path(sys.argv[1]), json.loads(sys.argv[2])
    big_file = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    out: dict[str, str] = {}

    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    store = work / "mlruns"
    uri = store.resolve().as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient()
    X, y = load_iris(return_X_y=True)
    models = [LogisticRegression(C=0.5 + i / 10, max_iter=300).fit(X, y) for i in range(8)]

    # register a small model: log_model with its defaults (it infers pip requirements) + registration
    runs = sizes["mlflow_register_runs"]
    times, info = [], None
    for i in range(runs + 1):
        t0 = time.perf_counter()
        info = mlflow.sklearn.log_model(models[i % len(models)], name="model", registered_model_name="small")
        if i:  # the first call is warm-up
            times.append(time.perf_counter() - t0)
    out["register_small"] = f"{ms(statistics.median(times))} (log_model + register, defaults; median of {runs})"

    # Models with many versions, sharing one logged model as their source. The file store's
    # create_model_version scans the model's existing versions, so seeding is quadratic: the big
    # model gets as many versions as fit in a time budget, and its cells say how many that was.
    def seed(name: str, count: int, budget: float) -> int:
        client.create_registered_model(name)
        deadline = time.perf_counter() + budget
        for i in range(count):
            client.create_model_version(name, source=info.model_uri)
            if time.perf_counter() > deadline:
                return i + 1
        return count

    seed("model-small", sizes["small_versions"], 600)
    n_big = seed("model-big", sizes["list_versions"], sizes["mlflow_seed_seconds"])
    at_big = "" if n_big == sizes["list_versions"] else f" at only {n_big:,} versions*"
    if at_big:
        out["_note"] = (f"* MLflow's file store got {n_big:,} of {sizes['list_versions']:,} versions in "
                        f"{sizes['mlflow_seed_seconds']} s of seeding (its create_model_version is O(versions)), "
                        "so its big-model cells are measured at that size")

    def list_all(name):
        found, token = [], None
        while True:
            page = client.search_model_versions(f"name='{name}'", max_results=1000, page_token=token)
            found += page
            token = page.token
            if not token:
                return found

    t = median_time(lambda: list_all("model-big"), 3)
    out["list"] = ms(t) + at_big

    timed = 3  # MLflow's file store rewrites files per version here: a few runs are plenty
    for key, name in (("alias_small", "model-small"), ("alias_big", "model-big")):
        state = {"i": 0}

        def move(name=name, state=state):
            state["i"] += 1
            client.set_registered_model_alias(name, "staging", str(1 + state["i"] % 2))

        out[key] = ms(median_time(move, timed)) + (at_big if key.endswith("big") else "")

    for key, name in (("load_small", "model-small"), ("load_big", "model-big")):
        client.set_registered_model_alias(name, "production", "1")
        out[key] = ms(median_time(lambda name=name: mlflow.sklearn.load_model(f"models:/{name}@production"), timed)) \
            + (at_big if key.endswith("big") else "")

    out["compare"] = "no equivalent"

    if big_file is not None:
        def register_big(name):
            with mlflow.start_run() as run:
                mlflow.log_artifact(str(big_file))
            client.create_model_version(name, source=f"runs:/{run.info.run_id}/{big_file.name}",
                                        run_id=run.info.run_id)

        client.create_registered_model("big")
        times = []
        for _ in range(sizes["big_runs"]):
            t0 = time.perf_counter()
            register_big("big")
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        out["big_cp"] = out["big_py"] = f"{t:.2f} s (log_artifact + model version; no hash)"
        client.create_registered_model("twice")
        before = disk_bytes(store)
        register_big("twice")
        once = disk_bytes(store)
        register_big("twice")
        twice = disk_bytes(store)
        out["twice"] = f"+{once - before:,} B, then +{twice - once:,} B"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
