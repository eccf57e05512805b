"""The sklearn flavor's first registration in a fresh process: skops imported without scikit-learn's
estimator discovery, the same trusted types as skops' defaults, and imported packages that are the
user's. Each case runs in a fresh interpreter, as a new kernel would."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run_fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_first_registration_imports_neither_all_of_sklearn_nor_its_test_tools(tmp_path):
    got = run_fresh(f"""
        import json, sys
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        X, y = load_iris(return_X_y=True)
        model = LogisticRegression(max_iter=300).fit(X, y)
        import nbregistry as nr
        reg = nr.Registry({str(tmp_path / "reg")!r}, author="alice")
        v = reg.register(model, "iris")
        lineage = reg.get("iris:1").lineage
        print(json.dumps({{"imported": sorted(p["name"].lower() for p in lineage["packages"] if p["imported"]),
                          "installed": sorted(p["name"].lower() for p in lineage["packages"]),
                          "modules": sorted(m for m in ("torch", "pytest", "sklearn.utils._testing") if m in sys.modules),
                          "untrusted": v.flavor_meta["untrusted_types"], "format": v.flavor_meta["format"]}}))
    """)
    assert got["format"] == "skops" and got["untrusted"] == []
    assert got["modules"] == []  # all_estimators() would have imported these
    assert {"scikit-learn", "numpy", "scipy"} <= set(got["imported"])
    assert {"torch", "pytest", "skops", "sqlite-utils"} <= set(got["installed"])
    assert not {"torch", "pytest", "skops", "sqlite-utils"} & set(got["imported"])  # nbregistry's, not the user's


def test_the_trusted_types_are_exactly_skops_defaults():
    """Every estimator skops trusts by default is trusted, and no other scikit-learn class is."""
    got = run_fresh("""
        import inspect, json, pkgutil, importlib, warnings
        warnings.simplefilter("ignore")
        import skops.io._trusted_types as tt          # the real thing: runs all_estimators()
        from nbregistry.core.flavors.sklearn import is_default_trusted
        from sklearn.base import BaseEstimator
        import sklearn
        trusted = set(tt.SKLEARN_ESTIMATOR_TYPE_NAMES)
        others = set()
        for _, name, _ in pkgutil.walk_packages(sklearn.__path__, "sklearn."):
            if ".tests" in name or "externals" in name:
                continue
            try:
                module = importlib.import_module(name)
            except Exception:
                continue
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseEstimator) and cls.__module__.startswith("sklearn."):
                    others.add(f"{cls.__module__}.{cls.__name__}")
        others -= trusted
        print(json.dumps({"missed": sorted(t for t in trusted if not is_default_trusted(t)),
                          "extra": sorted(t for t in others if is_default_trusted(t)),
                          "n": len(trusted), "n_others": len(others),
                          "junk": [is_default_trusted(t) for t in ("builtins.eval", "os.system", "sklearn",
                                   "sklearn.base.BaseEstimator", "sklearn.linear_model._logistic._private",
                                   "sklearn.utils.discovery.all_estimators", "numpy.ndarray")]}))
    """)
    assert got["n"] > 100 and got["n_others"] > 0
    assert got["missed"] == [] and got["extra"] == []
    assert got["junk"] == [False] * 7


def test_custom_types_still_need_trust(tmp_path):
    got = run_fresh(f"""
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        open({str(tmp_path / "custom_step.py")!r}, "w").write(
            "from sklearn.base import BaseEstimator, TransformerMixin\\n"
            "class Doubler(TransformerMixin, BaseEstimator):\\n"
            "    def fit(self, X, y=None): return self\\n"
            "    def transform(self, X): return X * 2\\n")
        from custom_step import Doubler
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        X, y = load_iris(return_X_y=True)
        import nbregistry as nr
        from nbregistry.core.errors import TrustRequired
        reg = nr.Registry({str(tmp_path / "reg")!r}, author="alice")
        v = reg.register(make_pipeline(Doubler(), LogisticRegression(max_iter=500)).fit(X, y), "p")
        plain = reg.register(LogisticRegression(max_iter=500).fit(X, y), "plain")
        reg.author = "bob"
        try:
            reg.load("p:1")
            refused = False
        except TrustRequired:
            refused = True
        loaded = reg.load("p:1", trust=True)
        print(json.dumps({{"untrusted": v.flavor_meta["untrusted_types"], "refused": refused,
                          "same": (loaded.predict(X) == v.load(trust=True).predict(X)).all().item(),
                          "plain": type(reg.load("plain:1")).__name__}}))
    """)
    assert got["untrusted"] == ["custom_step.Doubler"] and got["refused"] and got["same"]
    assert got["plain"] == "LogisticRegression"  # scikit-learn's own types load for anyone
