"""The core methods the server relies on: per-request author views (``as_author``), registering an
uploaded artifact (``register_saved``), ``artifact()`` and the shared trust rule."""

from __future__ import annotations

import pickle
import threading

import pytest

from helpers import state
from nbregistry.core.errors import TrustRequired, ValidationError
from nbregistry.core.registration import check_trust


def test_as_author_views_share_the_registry_but_not_the_author(local_reg, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    bob = local_reg.as_author("bob", origin="server")
    assert bob.store is local_reg.store and bob.objects is local_reg.objects
    v = bob.register(str(tmp_path / "m.txt"), "churn")
    assert v.author == "bob" and local_reg.author == "alice" and local_reg.origin == "api"
    assert local_reg.events()[-1].actor == "bob" and local_reg.events()[-1].origin == "server"


def test_author_views_in_threads_never_see_each_others_author(local_reg, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    local_reg.register(str(tmp_path / "m.txt"), "churn")
    names = [f"user{i}" for i in range(8)]
    wrong = []

    def work(name):
        view = local_reg.as_author(name)
        for _ in range(5):
            if view.comment("churn:1", f"by {name}").author != name:
                wrong.append(name)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert all(c.body == f"by {c.author}" for c in local_reg.comments("churn:1"))
    assert len(local_reg.comments("churn:1")) == 40


def test_register_saved_stores_the_folder_as_the_flavor_wrote_it(local_reg, tmp_path):
    folder = tmp_path / "saved"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(pickle.dumps({"w": 1}))
    (folder / "sub" / "notes.txt").write_text("n")
    v = local_reg.register_saved(folder, "saved", flavor="pickle", flavor_meta={"library": "pickle"},
                                 metrics={"auc": 0.9}, params={"depth": 3}, tags={"t": "x"}, description="d",
                                 signature={"type": "tensor", "shape": [-1, 2], "dtype": "float64"},
                                 input_example_json=b'{"type": "tensor", "dtype": "float64", "data": [[1.0, 2.0]]}',
                                 lineage={"python": "3.x"})
    assert (v.ref, v.flavor, v.metrics, v.params, v.description) == ("saved:1", "pickle", {"auc": 0.9},
                                                                     {"depth": "3"}, "d")
    assert sorted(f["path"] for f in v.artifact["files"]) == ["model.pkl", "sub/notes.txt"]
    assert local_reg.load("saved:1") == {"w": 1}
    assert local_reg.input_example("saved:1").tolist() == [[1.0, 2.0]]
    info = local_reg.artifact("saved")
    assert info["ref"] == "saved:1" and info["author"] == "alice" and info["meta"]["library"] == "pickle"
    assert info["sha256"] == v.artifact["sha256"] and len(info["files"]) == 2


@pytest.mark.parametrize("kwargs, fragment", [
    ({"flavor": "martian"}, "unknown flavor"),
    ({"flavor_meta": ["x"]}, "flavor_meta"),
    ({"input_example_json": b"not json"}, "input example"),
    ({"signature": {"columns": []}}, "signature"),
    ({"metrics": {"auc": float("nan")}}, "finite"),
    ({"lineage": "python 3"}, "lineage"),
])
def test_register_saved_refusals_change_nothing(local_reg, tmp_path, kwargs, fragment):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "f.bin").write_bytes(b"x")
    local_reg.list_models()
    before = state(local_reg.root)
    args = {"flavor": "file", "flavor_meta": {"kind": "dir"}, **kwargs}
    with pytest.raises(ValidationError, match=fragment):
        local_reg.register_saved(folder, "saved", **args)
    assert state(local_reg.root) == before
    with pytest.raises(ValidationError, match="not a folder"):
        local_reg.register_saved(folder / "f.bin", "saved", flavor="file", flavor_meta={})


def test_check_trust_is_the_one_rule(local_reg, as_user):
    with as_user(local_reg, "bob"):
        v = local_reg.register({"x": 1}, "pickled", flavor="pickle")
    meta = local_reg.artifact("pickled")["meta"]
    with pytest.raises(TrustRequired):
        check_trust(v, meta, reader="alice", trust=False)
    assert check_trust(v, meta, reader="alice", trust=True).full is True
    assert check_trust(v, meta, reader="bob", trust=False).full is True
    with pytest.raises(TrustRequired):
        local_reg.load("pickled")


def test_the_server_smoke_tests_no_pickle_not_even_the_callers_own(remote_registry, iris):
    """The real ``nbregistry server`` sets trust_own_pickles = False: a smoke gate must not unpickle."""
    X, _ = iris
    remote_registry.register({"not": "a model"}, "churn", flavor="pickle", input_example=X.head())
    remote_registry.set_policy("churn", "production", {"gates": ["smoke"]})
    detail = remote_registry.check("churn:1", "production").gates[0]["detail"]
    assert detail.startswith("not loaded: churn:1 is stored in a format that runs code when loaded, and the "
                             "server never unpickles for a smoke test")
