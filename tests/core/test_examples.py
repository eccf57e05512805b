"""Input examples: Series and dicts of arrays; register(data=X) infers the signature like %register."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbregistry.core.errors import ValidationError
from nbregistry.core.signature import (example_from_data, example_from_json, example_to_json, infer_signature,
                                       validate_input)


def test_register_with_data_infers_the_signature_and_stores_the_first_rows(reg, iris, iris_model):
    X, y = iris
    version = reg.register(iris_model, "iris", data=(X, y))
    # the inputs inferred from the data; the outputs from a prediction on the stored first rows
    assert {k: v for k, v in version.signature.items() if k != "outputs"} == infer_signature(X)
    assert version.signature["outputs"] == {"type": "tensor", "shape": [-1], "dtype": "int64"}
    assert [c["name"] for c in version.signature["columns"]] == list(X.columns)
    example = reg.input_example(version.ref)
    pd.testing.assert_frame_equal(example, X.head(5), check_dtype=False)
    by_name = reg.register(iris_model, "iris", data={"train": X})
    assert by_name.signature == version.signature
    explicit = reg.register(iris_model, "iris", data=X, input_example=X[["sepal length (cm)"]].head(2))
    assert [c["name"] for c in explicit.signature["columns"]] == ["sepal length (cm)"]  # an explicit example wins


def test_data_that_is_not_a_table_gives_no_signature(local_reg, iris, iris_model):
    X, y = iris
    assert example_from_data(y) is None and example_from_data([1, 2, 3]) is None
    assert local_reg.register(iris_model, "iris", data=y).signature is None


def test_series_example_round_trips_as_a_series():
    texts = pd.Series(["good film", "bad movie", "fine"], name="text")
    sig = infer_signature(texts)
    assert sig["type"] == "dataframe" and sig["series"] is True and sig["columns"][0]["name"] == "text"
    back = example_from_json(example_to_json(texts))
    pd.testing.assert_series_equal(back, texts, check_dtype=False)
    unnamed = example_from_json(example_to_json(pd.Series([1.5, 2.5])))
    assert isinstance(unnamed, pd.Series) and unnamed.name is None and unnamed.tolist() == [1.5, 2.5]
    # a scoring request sends a list or a Series; both are accepted as the one column
    assert validate_input(sig, ["a", "b"])["text"].tolist() == ["a", "b"]
    assert validate_input(sig, pd.Series(["x"]))["text"].tolist() == ["x"]


def test_series_example_stored_by_a_registry(reg, iris_model, iris):
    X, _ = iris
    version = reg.register(iris_model, "iris", input_example=X["petal width (cm)"].head(3))
    example = reg.input_example(version.ref)
    assert isinstance(example, pd.Series) and example.name == "petal width (cm)"
    assert example.tolist() == X["petal width (cm)"].head(3).tolist()


def test_dict_of_arrays_is_a_named_tensor_example():
    example = {"input_ids": np.array([[2, 5, 6, 3], [2, 8, 9, 3]]), "attention_mask": np.ones((2, 4), dtype="int64")}
    sig = infer_signature(example)
    assert sig == {"type": "tensors", "inputs": [{"name": "input_ids", "shape": [-1, 4], "dtype": "int64"},
                                                 {"name": "attention_mask", "shape": [-1, 4], "dtype": "int64"}]}
    back = example_from_json(example_to_json(example))
    assert set(back) == set(example) and all(np.array_equal(back[k], example[k]) for k in example)
    checked = validate_input(sig, {"input_ids": [[1, 2, 3, 4]], "attention_mask": [[1, 1, 1, 0]]})
    assert checked["input_ids"].dtype == np.int64
    with pytest.raises(ValidationError, match="missing input 'attention_mask'"):
        validate_input(sig, {"input_ids": [[1, 2, 3, 4]]})
    with pytest.raises(ValidationError, match="input 'input_ids': expected shape"):
        validate_input(sig, {"input_ids": [[1, 2]], "attention_mask": [[1, 1]]})
    with pytest.raises(ValidationError, match="same number of rows"):
        infer_signature({"a": np.zeros((2, 3)), "b": np.zeros((3, 3))})
    # a dict of 1-D columns stays a table
    assert infer_signature({"a": np.array([1, 2]), "b": np.array([0.5, 1.5])})["type"] == "dataframe"


def test_text_arrays_do_not_truncate_longer_inputs():
    sig = infer_signature(np.array(["hi", "yo"]))
    assert sig["dtype"] == "str"
    assert validate_input(sig, ["a much longer text"]).tolist() == ["a much longer text"]


def test_bad_examples_are_refused_in_one_line():
    with pytest.raises(ValidationError, match="Series"):
        infer_signature(object())
    with pytest.raises(ValidationError, match="do not form a table"):
        infer_signature({"a": [1, 2], "b": [1]})


def test_a_named_tensor_signature_exports_to_mlflow(local_reg, iris_model, tmp_path):
    import json

    import yaml

    example = {"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.array([[1, 1, 1]])}
    local_reg.register(iris_model, "multi", input_example=example)
    local_reg.export("multi:1", tmp_path / "out", format="mlflow")
    mlmodel = yaml.safe_load((tmp_path / "out" / "MLmodel").read_text())
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [i["name"] for i in inputs] == ["input_ids", "attention_mask"]
    assert inputs[0]["tensor-spec"] == {"dtype": "int64", "shape": [-1, 3]}
    saved = json.loads((tmp_path / "out" / "input_example.json").read_text())
    assert saved == {"inputs": {"input_ids": [[2, 5, 3]], "attention_mask": [[1, 1, 1]]}}


def test_data_lacking_columns_the_model_was_fit_on_is_warned(reg, iris, iris_model):
    X, y = iris
    fine = reg.register(iris_model, "iris", data={"X": X, "y": y, "lookup": pd.DataFrame({"k": [1]})})
    assert not any("lacks column" in w for w in fine.warnings)
    changed = reg.register(iris_model, "iris", data={"X": X.drop(columns=["petal width (cm)"]), "y": y})
    assert any("data 'X' lacks column(s) petal width (cm) that LogisticRegression was fit on" in w
               for w in changed.warnings), changed.warnings
