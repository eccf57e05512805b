"""Export one version as an MLflow model directory (``export --format mlflow``), for every flavor.

``MLmodel`` carries ``python_function`` plus the model's own MLflow flavor, so MLflow's own loaders
(``mlflow.pyfunc.load_model`` and ``mlflow.<flavor>.load_model``) read it, and ``mlflow models serve``,
KServe and Seldon's MLflow runtimes serve it:

- sklearn: ``model.pkl`` (cloudpickle) or the stored skops file as is; xgboost and lightgbm: their
  native file (scikit-learn-style LightGBM: cloudpickle, the only form MLflow reads for those);
- torch: ``data/model.pth``, the module as TorchScript (what nbregistry stores, or the stored
  module scripted), loaded by ``mlflow.pytorch``; onnx: ``model.onnx`` (``mlflow.onnx``);
  keras: ``data/model.keras`` (``mlflow.keras``, Keras 3);
- pickle / custom objects: a ``python_model.pkl`` pyfunc whose ``predict`` calls the object's; a
  ``CustomModel`` carries its artifact files as pyfunc artifacts, loaded back by ``load_context``;
- transformers: MLflow's ``transformers`` flavor for pipelines MLflow can rebuild, else a pyfunc
  around the safetensors checkpoint (see export_mlflow_transformers.py);
- a version imported from MLflow: its MLflow directory as it was imported (exported back verbatim).

Signature (column- or tensor-based, with the recorded output schema) and input example are written
in MLflow's format. Re-serializing loads the model through ``Registry.load``: pickle-based versions
by other authors need ``trust``.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..core.errors import ValidationError
from ..core.store import now_iso
from .entities import ExportReport
from .export import _flavor_meta, _pin
from .export_card import write_readme

MLFLOW_TYPES = {"float64": "double", "float32": "float", "int64": "long", "int32": "integer", "bool": "boolean",
                "object": "string", "string": "string", "str": "string", "datetime64[ns]": "datetime",
                "datetime64[us]": "datetime", "bytes": "binary"}


def export_mlflow(reg, ref: str, dest, *, trust: bool = False, serialization: str = "cloudpickle") -> ExportReport:
    """An MLflow model directory for one version: ``MLmodel`` (python_function + the model's flavor),
    the model file, ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``, input example and
    signature. sklearn versions are written as ``model.pkl`` (cloudpickle, which every MLflow
    loads; ``serialization="skops"`` copies the stored skops file as is instead); xgboost and
    lightgbm versions keep their native model file."""
    version = reg.get(ref)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValidationError(f"{dest} exists and is not empty; MLflow model directories must be new")
    meta = _flavor_meta(reg, version)
    if meta.get("mlflow_flavors") is not None and any(f["path"] == "MLmodel" for f in version.artifact["files"]):
        return _export_verbatim(reg, version, dest)
    staging = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.exists() else None, prefix=".mlflow-"))
    try:
        outputs = version.signature.get("outputs") if version.signature else None
        mlflow_outputs = _mlflow_schema(outputs, output=True) if outputs else None
        if version.flavor == "transformers":  # MLflow's transformers flavor, or a pyfunc around the checkpoint
            from .export_mlflow_transformers import transformers_flavor

            flavors, requirements, answer = transformers_flavor(reg, version, staging, trust=trust, meta=meta)
            if "transformers" in flavors:  # MLflow's pyfunc answers as the pipeline does, not as nbregistry
                mlflow_outputs = answer
        else:
            flavors, requirements = _mlflow_flavor(reg, version, staging, trust=trust, serialization=serialization)
        mlmodel = {
            "artifact_path": version.name,
            "flavors": flavors,
            "mlflow_version": None,
            "model_uuid": hashlib.sha256(f"{version.artifact['sha256']}:{serialization}".encode()).hexdigest()[:32],
            "utc_time_created": now_iso().replace("T", " ").rstrip("Z"),
            "metadata": {"nbregistry": {"ref": version.ref, "artifact_sha256": version.artifact["sha256"],
                                        "author": version.author, "created_at": version.created_at,
                                        "metrics": version.metrics}},
        }
        del mlmodel["mlflow_version"]
        if version.signature:
            mlmodel["signature"] = {"inputs": json.dumps(_mlflow_schema(version.signature)),
                                    "outputs": json.dumps(mlflow_outputs) if mlflow_outputs else None,
                                    "params": None}
        if version.has_input_example:
            mlmodel["saved_input_example_info"] = _write_example(reg.input_example(version.ref), version.signature,
                                                                 staging)
        py = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        flavors["python_function"]["python_version"] = py
        flavors["python_function"]["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        (staging / "python_env.yaml").write_text(
            f"python: {py}\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\ndependencies:\n- -r requirements.txt\n")
        (staging / "conda.yaml").write_text(
            "channels:\n- conda-forge\ndependencies:\n" f"- python={py}\n- pip\n- pip:\n"
            + "".join(f"  - {r}\n" for r in requirements) + "name: mlflow-env\n")
        (staging / "MLmodel").write_text(_yaml(mlmodel))
        write_readme(reg, version.ref, staging)  # the model card
        dest.mkdir(parents=True, exist_ok=True)
        files = []
        for p in sorted(staging.iterdir()):
            shutil.move(str(p), dest / p.name)
            files.append(p.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportReport(format="mlflow", path=str(dest), refs=[version.ref], files=files)


def _mlflow_flavor(reg, version, folder: Path, *, trust: bool, serialization: str) -> tuple[dict, list[str]]:
    meta = _flavor_meta(reg, version)
    pickled_sklearn = version.flavor == "pickle" and str(meta.get("type", "")).startswith("sklearn.")
    if version.flavor == "sklearn" or pickled_sklearn:
        sklearn_version = meta.get("sklearn_version")
        reqs = [f"scikit-learn=={sklearn_version}" if sklearn_version else _pin("scikit-learn")]
        if serialization == "skops":
            if meta.get("format") != "skops":
                stored = meta.get("format") or meta.get("library") or version.flavor
                raise ValidationError(f"{version.ref} is stored as {stored}, not skops")
            with reg.open_file(version.ref, "model.skops") as src, open(folder / "model.skops", "wb") as out:
                shutil.copyfileobj(src, out)
            conf = {"pickled_model": "model.skops", "serialization_format": "skops",
                    "skops_trusted_types": meta.get("untrusted_types") or None}
            reqs.append(_pin("skops"))
        elif serialization in ("cloudpickle", "pickle"):
            model = reg.load(version.ref, trust=trust)
            if serialization == "cloudpickle":
                import cloudpickle as dumper
            else:
                import pickle as dumper
            with open(folder / "model.pkl", "wb") as out:
                dumper.dump(model, out)
            conf = {"pickled_model": "model.pkl", "serialization_format": serialization}
            if serialization == "cloudpickle":
                reqs.append(_pin("cloudpickle"))
        else:
            raise ValidationError(f"unknown serialization {serialization!r}: use cloudpickle, pickle or skops")
        flavors = {"python_function": {"loader_module": "mlflow.sklearn", "model_path": conf["pickled_model"],
                                       "predict_fn": "predict"},
                   "sklearn": {"code": None, "sklearn_version": sklearn_version or reqs[0].partition("==")[2] or None,
                               **conf}}
        return flavors, ["mlflow", *reqs, _pin("pandas"), _pin("numpy")]
    if version.flavor in ("xgboost", "lightgbm"):
        library = version.flavor
        filename = meta["filename"]
        conf = {"data": filename, "model_class": meta["model_class"]}
        if library == "lightgbm" and meta["model_class"] != "lightgbm.basic.Booster":
            # MLflow loads scikit-learn-style LightGBM models from a pickle only
            import cloudpickle

            filename = "model.pkl"
            with open(folder / filename, "wb") as out:
                cloudpickle.dump(reg.load(version.ref, trust=trust), out)
            conf.update(data=filename, serialization_format="cloudpickle")
        else:
            with reg.open_file(version.ref, filename) as src, open(folder / filename, "wb") as out:
                shutil.copyfileobj(src, out)
        if library == "xgboost":
            conf["model_format"] = filename.rsplit(".", 1)[-1]
        conf[f"{library}_version"] = meta.get("library_version")
        flavors = {"python_function": {"loader_module": f"mlflow.{library}", "data": filename},
                   library: {"code": None, **conf}}
        pkg = library
        reqs = [f"{pkg}=={meta['library_version']}" if meta.get("library_version") else pkg]
        return flavors, ["mlflow", *reqs, _pin("pandas"), _pin("numpy")]
    if version.flavor == "onnx":
        filename = meta.get("filename", "model.onnx")
        with reg.open_file(version.ref, filename) as src, open(folder / "model.onnx", "wb") as out:
            shutil.copyfileobj(src, out)
        flavors = {"python_function": {"loader_module": "mlflow.onnx", "data": "model.onnx"},
                   "onnx": {"code": None, "data": "model.onnx", "onnx_version": meta.get("library_version"),
                            "providers": ["CPUExecutionProvider"], "onnx_session_options": None}}
        return flavors, ["mlflow", _pin("onnx"), _pin("onnxruntime"), _pin("pandas"), _pin("numpy")]
    if version.flavor == "torch":
        import torch

        model = reg.load(version.ref, trust=trust)
        if isinstance(model, torch.jit.ScriptModule):  # MLflow 3 loads no TorchScript: a pyfunc runs it
            buffer = io.BytesIO()
            torch.jit.save(model, buffer)
            return _pyfunc_wrapper(reg, version, folder, trust=trust, torchscript=buffer.getvalue(),
                                   extra=[_pin("torch")])
        import cloudpickle

        (folder / "data").mkdir()
        torch.save(model, folder / "data" / "model.pth", pickle_module=cloudpickle)
        (folder / "data" / "pickle_module_info.txt").write_text("mlflow.pytorch.pickle_module")
        flavors = {"python_function": {"loader_module": "mlflow.pytorch", "data": "data"},
                   "pytorch": {"code": None, "model_data": "data", "pytorch_version": str(torch.__version__)}}
        return flavors, ["mlflow", _pin("torch"), _pin("cloudpickle"), _pin("pandas"), _pin("numpy")]
    if version.flavor == "keras":
        import keras

        (folder / "data").mkdir()
        with reg.open_file(version.ref, meta.get("filename", "model.keras")) as src, \
                open(folder / "data" / "model.keras", "wb") as out:
            shutil.copyfileobj(src, out)
        (folder / "data" / "keras_module.txt").write_text("keras")
        flavors = {"python_function": {"loader_module": "mlflow.keras"},
                   "keras": {"code": None, "data": "data", "keras_version": str(meta.get("library_version") or keras.__version__),
                             "keras_backend": meta.get("backend") or keras.backend.backend(),
                             "save_exported_model": False}}
        return flavors, ["mlflow", f"keras=={meta['library_version']}" if meta.get("library_version") else _pin("keras"),
                         _pin("pandas"), _pin("numpy")]
    if version.flavor == "pickle":
        return _pyfunc_wrapper(reg, version, folder, trust=trust)
    if version.flavor == "custom":
        return _custom_pyfunc(reg, version, folder, trust=trust, meta=meta)
    raise ValidationError(f"{version.ref} is a {version.flavor} model, which has no MLflow form"
                          " (use --format bundle or docker)")


def _custom_pyfunc(reg, version, folder: Path, *, trust: bool, meta: dict) -> tuple[dict, list[str]]:
    """A custom model (an ``nbregistry.CustomModel``) as a ``python_model`` whose artifact files are
    MLflow pyfunc artifacts (``artifacts/<name>``): MLflow's ``load_context`` hands their paths to the
    model's ``load_artifacts``, as ``Registry.load`` does. The class is pickled by reference, so it
    (and nbregistry, its base class's home) must be importable where MLflow loads it."""
    from .. import __version__
    from ..core.objects import safe_relpath
    from . import mlflow_pyfunc

    model = reg.load(version.ref, trust=trust)
    stored = reg.objects.checkout(version.artifact["sha256"])
    artifacts = {}
    for name, rel in (meta.get("artifacts") or {}).items():
        rel = safe_relpath(rel)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (stored / rel).is_dir():
            shutil.copytree(stored / rel, target)
        else:
            shutil.copyfile(stored / rel, target)
        artifacts[str(name)] = {"path": rel, "uri": rel}
    return _pyfunc_wrapper(reg, version, folder, trust=trust, wrapped=mlflow_pyfunc.wrap_custom(model),
                           artifacts=artifacts, extra=[f"nbregistry=={__version__}"])


def _pyfunc_wrapper(reg, version, folder: Path, *, trust: bool, torchscript: bytes | None = None,
                    extra: list[str] = (), wrapped=None, artifacts: dict | None = None) -> tuple[dict, list[str]]:
    """A pickle/custom object (or a TorchScript module) as an MLflow ``python_model``: a PythonModel
    whose ``predict`` calls the object's ``predict`` (or the object), pickled by value so loading
    needs no nbregistry."""
    import cloudpickle

    from . import mlflow_pyfunc

    if wrapped is None:
        wrapped = (mlflow_pyfunc.wrap_torchscript(torchscript) if torchscript is not None
                   else mlflow_pyfunc.wrap(reg.load(version.ref, trust=trust)))
    cloudpickle.register_pickle_by_value(mlflow_pyfunc)
    try:
        with open(folder / "python_model.pkl", "wb") as out:
            cloudpickle.dump(wrapped, out)
    finally:
        cloudpickle.unregister_pickle_by_value(mlflow_pyfunc)
    flavors = {"python_function": {"loader_module": "mlflow.pyfunc.model", "python_model": "python_model.pkl",
                                   "cloudpickle_version": cloudpickle.__version__, "code": None,
                                   "streamable": False}}
    if artifacts:
        flavors["python_function"]["artifacts"] = artifacts
    return flavors, ["mlflow", _pin("cloudpickle"), *extra, _pin("pandas"), _pin("numpy")]


def _export_verbatim(reg, version, dest: Path) -> ExportReport:
    """A version imported from MLflow is an MLflow model directory already: write its files back."""
    staging = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.exists() else None, prefix=".mlflow-"))
    try:
        folder = reg.objects.checkout(version.artifact["sha256"])
        files = []
        for entry in version.artifact["files"]:
            target = staging / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / entry["path"], target)
            files.append(entry["path"])
        dest.mkdir(parents=True, exist_ok=True)
        for p in sorted(staging.iterdir()):
            shutil.move(str(p), dest / p.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportReport(format="mlflow", path=str(dest), refs=[version.ref], files=sorted(files))


def _mlflow_schema(signature: dict, *, output: bool = False) -> list:
    if signature["type"] == "tensor" and output and len(signature["shape"]) == 1:
        kind = MLFLOW_TYPES.get(signature["dtype"])
        if kind is not None:  # a vector of predictions: MLflow writes one unnamed column
            return [{"type": kind, "required": True}]
    if signature["type"] == "dataframe":
        out = []
        for col in signature["columns"]:
            kind = MLFLOW_TYPES.get(col["dtype"])
            if kind is None:
                kind = "datetime" if col["dtype"].startswith("datetime") else "string"
            out.append({"type": kind, "name": col["name"], "required": True})
        return out
    if signature["type"] == "tensors":  # named inputs (a dict-of-arrays example)
        return [{"type": "tensor", "name": i["name"], "tensor-spec": {"dtype": i["dtype"], "shape": i["shape"]}}
                for i in signature["inputs"]]
    return [{"type": "tensor", "tensor-spec": {"dtype": signature["dtype"], "shape": signature["shape"]}}]


def _write_example(example, signature: dict | None, folder: Path) -> dict:
    if hasattr(example, "to_frame") and not hasattr(example, "columns"):  # a Series is its one-column frame
        example = example.to_frame(example.name if example.name is not None else "0")
    if hasattr(example, "columns"):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        data = {"columns": split["columns"], "data": split["data"]}
        (folder / "input_example.json").write_text(json.dumps(data))
        (folder / "serving_input_example.json").write_text(json.dumps({"dataframe_split": data}, indent=2))
        return {"artifact_path": "input_example.json", "serving_input_path": "serving_input_example.json",
                "type": "dataframe", "pandas_orient": "split"}
    if isinstance(example, dict):  # named tensors
        data = {"inputs": {k: v.tolist() for k, v in example.items()}}
        (folder / "input_example.json").write_text(json.dumps(data))
        (folder / "serving_input_example.json").write_text(json.dumps(data, indent=2))
        return {"artifact_path": "input_example.json", "serving_input_path": "serving_input_example.json",
                "type": "ndarray"}
    data = example.tolist()  # MLflow 3: the array itself; the serving example wraps it in "inputs"
    (folder / "input_example.json").write_text(json.dumps(data))
    (folder / "serving_input_example.json").write_text(json.dumps({"inputs": data}, indent=2))
    return {"artifact_path": "input_example.json", "serving_input_path": "serving_input_example.json",
            "type": "ndarray"}


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)


