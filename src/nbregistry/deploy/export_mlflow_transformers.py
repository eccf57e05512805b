"""The MLflow form of a ``transformers`` version (``export --format mlflow``), in two shapes.

- **A pipeline MLflow can rebuild** — a stored pipeline, or model + tokenizer (or feature extractor /
  image processor) whose task follows from the model class (``...ForSequenceClassification`` with a
  tokenizer is ``text-classification``, and so on): MLflow's own ``transformers`` flavor, laid out as
  ``mlflow.transformers.save_model`` lays it out (``model/`` = the model's ``save_pretrained`` with
  safetensors weights, ``components/<name>/`` = each component's), with ``python_function`` loaded
  by ``mlflow.transformers``. ``mlflow.transformers.load_model`` gives the pipeline back (or the
  components with ``return_type="components"``) and ``mlflow.pyfunc`` answers as MLflow does for that
  task (text-classification: a frame of ``label`` and ``score``); the signature's outputs are that
  answer's columns, taken from the pipeline's own output on the input example.
- **Anything else** (a bare model, a processor, whose pipeline MLflow refuses, or a model whose task
  is not known): MLflow's transformers flavor stores pipelines only, so the version becomes a pyfunc
  ``python_model`` whose ``predict`` is nbregistry's (labels from the highest logit; tokenized
  texts when there is a tokenizer, named tensors otherwise), with the checkpoint as a pyfunc
  artifact (``artifacts/checkpoint``, safetensors) loaded by ``from_pretrained`` — no weights pickled.

Models with custom code (a class outside transformers or ``auto_map``) are refused: MLflow would
import that code when loading, and the export cannot carry it honestly.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ValidationError
from .export import _pin

# a model class name's suffix -> the pipeline task, per the component that feeds it
TASKS = {
    "tokenizer": (("ForSequenceClassification", "text-classification"),
                  ("ForTokenClassification", "token-classification"),
                  ("ForQuestionAnswering", "question-answering"),
                  ("ForMaskedLM", "fill-mask"),
                  ("ForCausalLM", "text-generation"), ("LMHeadModel", "text-generation")),
    "feature_extractor": (("ForSequenceClassification", "audio-classification"),
                          ("ForAudioClassification", "audio-classification")),
    "image_processor": (("ForImageClassification", "image-classification"),),
}
COMPONENTS = ("tokenizer", "feature_extractor", "image_processor")  # what MLflow saves under components/
PY_TYPES = {str: "string", float: "double", int: "long", bool: "boolean"}


def transformers_flavor(reg, version, folder: Path, *, trust: bool, meta: dict) -> tuple[dict, list, list | None]:
    """``(flavors, requirements, output schema or None)`` for :func:`~.export_mlflow.export_mlflow`."""
    import transformers

    if meta.get("custom_code") or any(":" in str(c) for c in (meta.get("classes") or {}).values()):
        raise ValidationError(f"{version.ref} carries custom code, which an MLflow model directory cannot carry "
                              "safely; use --format bundle")
    obj = reg.load(version.ref, trust=trust)
    pipe = _pipeline(transformers, obj, meta)
    reqs = ["mlflow", _pin("transformers"), _pin("torch"), _pin("pandas"), _pin("numpy")]
    if pipe is None:
        return _checkpoint_pyfunc(obj, folder, meta), [*reqs, _pin("cloudpickle")], None
    model = pipe.model
    model.save_pretrained(folder / "model")
    components = [name for name in COMPONENTS if getattr(pipe, name, None) is not None]
    conf = {"code": None, "task": pipe.task, "instance_type": type(pipe).__name__,
            "pipeline_model_type": type(model).__name__, "source_model_name": str(model.name_or_path or ""),
            "model_binary": "model", "components": components,
            "transformers_version": transformers.__version__}
    if str(getattr(model, "dtype", "")).startswith("torch."):
        conf["torch_dtype"] = str(model.dtype)
    if int(transformers.__version__.split(".")[0]) < 5:  # transformers 5 dropped pipeline.framework
        conf["framework"] = getattr(pipe, "framework", None) or "pt"
    for name in components:
        part = getattr(pipe, name)
        conf[f"{name}_type"] = type(part).__name__
        part.save_pretrained(folder / "components" / name)
    flavors = {"python_function": {"loader_module": "mlflow.transformers"}, "transformers": conf}
    return flavors, reqs, _output_schema(pipe, reg.input_example(version.ref) if version.has_input_example else None)


def _pipeline(transformers, obj, meta: dict):
    """The pipeline MLflow's flavor would store for ``obj``, or ``None`` when there is none."""
    if meta.get("kind") == "pipeline":
        return obj
    if meta.get("kind") != "parts" or "processor" in obj:
        return None  # a bare model has no pipeline; MLflow loads no pipeline saved with a processor
    name = type(obj["model"]).__name__
    for component in COMPONENTS:
        if component in obj:
            task = next((t for suffix, t in TASKS[component] if name.endswith(suffix)), None)
            if task is not None:
                return transformers.pipeline(task, **obj)
    return None


def _output_schema(pipe, example) -> list | None:
    """MLflow's column schema of the pipeline's answer on the input example (a list of flat dicts,
    which MLflow's pyfunc turns into a frame), or ``None`` when it is not of that shape."""
    if hasattr(example, "columns"):
        if len(example.columns) != 1:
            return None
        example = example.iloc[:, 0]
    if not hasattr(example, "tolist"):
        return None
    try:
        answer = pipe([str(v) for v in example.tolist()])
    except Exception:  # an example the pipeline cannot take: leave the outputs undeclared
        return None
    if not answer or not all(isinstance(row, dict) for row in answer):
        return None
    schema = []
    for key, value in answer[0].items():
        kind = next((t for py, t in PY_TYPES.items() if type(value) is py), None)
        if kind is None:
            return None
        schema.append({"type": kind, "name": str(key), "required": True})
    return schema


def _checkpoint_pyfunc(obj, folder: Path, meta: dict) -> dict:
    """A ``python_model`` scoring as nbregistry does, its checkpoint saved as a pyfunc artifact."""
    import cloudpickle

    from . import mlflow_pyfunc

    parts = obj if isinstance(obj, dict) else {"model": obj}
    checkpoint = folder / "artifacts" / "checkpoint"
    for part in parts.values():
        part.save_pretrained(checkpoint)
    classes = {key: type(part).__name__ for key, part in parts.items()}
    cloudpickle.register_pickle_by_value(mlflow_pyfunc)
    try:
        with open(folder / "python_model.pkl", "wb") as out:
            cloudpickle.dump(mlflow_pyfunc.wrap_transformers(classes), out)
    finally:
        cloudpickle.unregister_pickle_by_value(mlflow_pyfunc)
    return {"python_function": {"loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl",
                                "cloudpickle_version": cloudpickle.__version__, "code": None, "streamable": False,
                                "artifacts": {"checkpoint": {"path": "artifacts/checkpoint",
                                                             "uri": "artifacts/checkpoint"}}}}
