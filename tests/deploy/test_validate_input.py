"""core.signature.validate_input: what the scoring server checks before a model sees a request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbregistry.core.errors import ValidationError
from nbregistry.core.signature import infer_signature, validate_input

FRAME = pd.DataFrame({"age": [31, 45], "income": [1.5, 2.5], "plan": ["a", "b"]})
SIG = infer_signature(FRAME)
TENSOR = infer_signature(np.zeros((3, 4), dtype="float32"))


def test_frames_are_matched_by_name_cast_and_trimmed():
    given = pd.DataFrame({"plan": ["c"], "income": [3], "age": [50.0], "extra": [1]})
    out = validate_input(SIG, given)
    assert list(out.columns) == ["age", "income", "plan"]
    assert [str(t) for t in out.dtypes] == [c["dtype"] for c in SIG["columns"]]
    assert out.iloc[0].tolist() == [50, 3.0, "c"]


def test_rows_without_names_are_refused_unless_positional_is_asked_for():
    with pytest.raises(ValidationError, match="matched by name"):
        validate_input(SIG, [[1, 2.0, "x"]])
    out = validate_input(SIG, [[1, 2.0, "x"]], positional=True)
    assert list(out.columns) == ["age", "income", "plan"] and out["age"].dtype == np.int64


@pytest.mark.parametrize("frame, words", [
    (pd.DataFrame({"age": [1], "income": [1.0], "plan": [3]}), ["column 'plan'", "text", "3"]),
    (pd.DataFrame({"age": [2**40], "income": [1.0], "plan": ["a"]}), ["column 'age'", "out of its range"]),
])
def test_unsafe_casts_are_refused(frame, words):
    sig = {"type": "dataframe", "columns": [{"name": "age", "dtype": "int32"}, {"name": "income", "dtype": "float64"},
                                            {"name": "plan", "dtype": "str"}]}
    with pytest.raises(ValidationError) as exc:
        validate_input(sig, frame)
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize("data, words", [
    (pd.DataFrame({"age": [1]}), ["missing columns", "'income'", "'plan'"]),
    (pd.DataFrame({"age": ["old"], "income": [1.0], "plan": ["a"]}), ["column 'age'", "int64", "'old'"]),
    (pd.DataFrame({"age": [1.5], "income": [1.0], "plan": ["a"]}), ["column 'age'", "fractional"]),
    (pd.DataFrame({"age": [None], "income": [1.0], "plan": ["a"]}), ["column 'age'", "missing value"]),
    (pd.DataFrame({"age": [1], "income": ["1.0"], "plan": ["a"]}), ["column 'income'", "float64", "'1.0'"]),
    ([[1, 2.0]], ["matched by name", "age, income, plan"]),
    (pd.DataFrame({"age": [], "income": [], "plan": []}), ["no rows"]),
])
def test_frame_refusals_name_the_problem(data, words):
    with pytest.raises(ValidationError) as exc:
        validate_input(SIG, data)
    for word in words:
        assert word in str(exc.value)


def test_tensors_check_shape_and_dtype_kind():
    out = validate_input(TENSOR, [[1, 2, 3, 4]])
    assert out.dtype == np.float32 and out.shape == (1, 4)
    assert validate_input(TENSOR, pd.DataFrame(np.ones((2, 4)))).shape == (2, 4)
    for data, words in [([[1, 2, 3]], ["expected shape [-1, 4]", "[1, 3]"]),
                        ([1, 2, 3, 4], ["expected shape [-1, 4]", "[4]"]),
                        ([["a", "b", "c", "d"]], ["expected float32 values", "'a'"]),
                        ([[1, 2, 3, 4], [1]], ["not a regular array"])]:
        with pytest.raises(ValidationError) as exc:
            validate_input(TENSOR, data)
        for word in words:
            assert word in str(exc.value)
    ints = infer_signature(np.zeros((2, 2), dtype="int64"))
    with pytest.raises(ValidationError, match="fractions"):
        validate_input(ints, [[1.5, 2]])
    assert validate_input(ints, [[1.0, 2.0]]).dtype == np.int64


def test_no_signature_passes_data_through():
    data = [[1, 2]]
    assert validate_input(None, data) is data
