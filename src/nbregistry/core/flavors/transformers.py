"""The ``transformers`` flavor: Hugging Face models, pipelines and model + tokenizer/processor sets.

What can be registered, and what ``load`` gives back:

- a model (``PreTrainedModel``) -> the same model class;
- a pipeline (``pipeline("text-classification", model=..., tokenizer=...)``) -> a pipeline of the
  same task around the reloaded parts;
- a dict of parts, ``{"model": m, "tokenizer": t}`` (or ``"processor"``, ``"image_processor"``,
  ``"feature_extractor"``) -> a dict with the same keys.

Everything is written with ``save_pretrained`` into one folder: ``config.json``, the weights as
``model.safetensors`` (never a pickle) and the tokenizer's or processor's JSON/vocab files.

Trust: loading runs no stored code when the model class is one of transformers' own (recorded by
name, looked up only in the ``transformers`` package), the weights are safetensors and neither the
config nor the tokenizer config names custom code (``auto_map``). Then ``load`` passes
``use_safetensors=True`` and ``trust_remote_code=False``, so even a forged metadata record cannot
make transformers unpickle weights or import code from the folder. A model whose class lives
outside transformers, or whose config carries ``auto_map`` (code shipped with the checkpoint), needs
the reader's ``trust=True``. Nothing is ever fetched from the network (``local_files_only=True``).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor

PART_KEYS = ("tokenizer", "processor", "image_processor", "feature_extractor")
AUTO_PARTS = {"tokenizer": "AutoTokenizer", "processor": "AutoProcessor",
              "image_processor": "AutoImageProcessor", "feature_extractor": "AutoFeatureExtractor"}
CONFIG_FILES = ("config.json", "tokenizer_config.json", "processor_config.json", "preprocessor_config.json")


def _has_base(obj: Any, module_prefix: str, names: tuple[str, ...]) -> bool:
    """``obj`` is an instance of a class named ``names`` from ``module_prefix`` (no import needed)."""
    return any(c.__name__ in names and c.__module__.startswith(module_prefix) for c in type(obj).__mro__)


def is_model(obj: Any) -> bool:
    return "transformers" in sys.modules and _has_base(obj, "transformers.", ("PreTrainedModel",))


def is_pipeline(obj: Any) -> bool:
    return "transformers" in sys.modules and _has_base(obj, "transformers.pipelines", ("Pipeline",))


def is_parts(obj: Any) -> bool:
    return (isinstance(obj, dict) and "model" in obj and is_model(obj["model"])
            and set(obj) <= {"model", *PART_KEYS})


def _class_path(obj: Any) -> tuple[str, bool]:
    """``(name, custom)``: a transformers class by its exported name, anything else as module:qualname."""
    cls = type(obj)
    if cls.__module__.startswith("transformers."):
        import transformers

        if getattr(transformers, cls.__name__, None) is cls:
            return cls.__name__, False
    return f"{cls.__module__}:{cls.__qualname__}", True


def _auto_map(folder: Path) -> bool:
    """Whether a saved config in ``folder`` (or a subfolder: MLflow keeps each part in its own)
    points at code shipped with the checkpoint."""
    for name in CONFIG_FILES:
        for path in sorted(folder.rglob(name)):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(config, dict) and config.get("auto_map"):
                return True
    return False


def part_folder(folder: Path, meta: dict, key: str) -> Path:
    """Where the part ``key`` was saved: ``folder`` itself, or the subfolder ``meta["paths"][key]``
    names (an MLflow transformers directory keeps ``model/`` and ``components/<name>/``)."""
    from ..objects import safe_relpath

    rel = (meta.get("paths") or {}).get(key)
    return folder if rel in (None, "", ".") else folder / safe_relpath(str(rel))


def describe_mlflow(folder: Path, conf: dict) -> dict:
    """The metadata of an MLflow ``transformers`` model directory (its ``MLmodel`` flavor config
    ``conf``): the parts in their subfolders, classes by transformers' own names, and the same honest
    trust facts as :meth:`TransformersFlavor.describe_saved` (safetensors only, no shipped code)."""
    paths = {"model": str(conf.get("model_binary") or "model")}
    classes = {"model": str(conf.get("pipeline_model_type") or "AutoModel")}
    parts = [c for c in (conf.get("components") or []) if c in PART_KEYS]
    if conf.get("processor_type"):
        parts.append("processor")
    for key in parts:
        paths[key] = f"components/{key}"
        classes[key] = str(conf.get(f"{key}_type") or AUTO_PARTS[key])
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    weights = [f for f in files if f.startswith(paths["model"] + "/")]
    safetensors = any(f.endswith(".safetensors") for f in weights)
    pickled = any(f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack")) for f in weights)
    task = conf.get("task")
    kind = "pipeline" if task and "processor" not in classes else "parts"
    return {"kind": kind, "task": task if kind == "pipeline" else None, "classes": classes, "paths": paths,
            "weights": "safetensors" if safetensors and not pickled else "other",
            "custom_code": _auto_map(folder) or any(f.endswith(".py") for f in files)
            or any(not c.isidentifier() for c in classes.values()),
            "library_version": conf.get("transformers_version")}


class TransformersFlavor(Flavor):
    name = "transformers"
    priority = 70  # before torch: a PreTrainedModel is also an nn.Module

    def handles(self, obj: Any) -> bool:
        return is_model(obj) or is_pipeline(obj) or is_parts(obj)

    def save(self, obj: Any, folder: Path) -> dict:
        import transformers

        if is_pipeline(obj):
            kind, task = "pipeline", obj.task
            parts = {"model": obj.model}
            for key in PART_KEYS:
                value = getattr(obj, key, None)
                if value is not None:
                    parts[key] = value
        elif is_parts(obj):
            kind, task, parts = "parts", None, dict(obj)
        else:
            kind, task, parts = "model", None, {"model": obj}
        model = parts["model"]
        model.save_pretrained(folder)
        if not (folder / "model.safetensors").is_file() and not list(folder.glob("model-*.safetensors")):
            raise ValidationError(f"{type(model).__name__}.save_pretrained wrote no safetensors weights")
        classes, custom = {}, False
        for key, part in parts.items():
            classes[key], is_custom = _class_path(part)
            custom = custom or is_custom
            if key != "model":
                part.save_pretrained(folder)
        return {"kind": kind, "task": task, "classes": classes, "weights": "safetensors",
                "custom_code": custom or _auto_map(folder), "library_version": transformers.__version__}

    def describe_saved(self, folder: Path) -> dict:
        """The metadata of a checkpoint folder this flavor did not write (registered from a URI such
        as ``hf://org/model`` or ``s3://bucket/bert/`` with ``flavor="transformers"``): the model class
        from ``config.json``'s ``architectures``, a tokenizer or processor when their files are there,
        and honest trust facts — weights other than safetensors, ``auto_map`` or ``.py`` files mean
        the checkpoint needs trust."""
        import transformers

        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ValidationError("not a transformers checkpoint: no readable config.json") from None
        architectures = config.get("architectures") or [] if isinstance(config, dict) else []
        name = architectures[0] if architectures and isinstance(architectures[0], str) else "AutoModel"
        classes = {"model": name if hasattr(getattr(transformers, name, None), "from_pretrained") else "AutoModel"}
        if (folder / "tokenizer_config.json").is_file() or (folder / "tokenizer.json").is_file():
            classes["tokenizer"] = "AutoTokenizer"
        elif (folder / "processor_config.json").is_file():
            classes["processor"] = "AutoProcessor"
        elif (folder / "preprocessor_config.json").is_file():
            classes["feature_extractor"] = "AutoFeatureExtractor"
        files = [p.name for p in folder.rglob("*") if p.is_file()]
        safetensors = any(f.endswith(".safetensors") for f in files)
        pickled = any(f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack")) for f in files)
        return {"kind": "parts" if len(classes) > 1 else "model", "task": None, "classes": classes,
                "weights": "safetensors" if safetensors and not pickled else "other",
                "custom_code": _auto_map(folder) or any(f.endswith(".py") for f in files),
                "library_version": config.get("transformers_version")}

    def needs_trust(self, meta: dict) -> bool:
        return bool(meta.get("custom_code")) or meta.get("weights") != "safetensors" \
            or any(":" in str(c) for c in (meta.get("classes") or {}).values())

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        import transformers

        # ``trusted`` is also true when no trust was needed; code may run only when it was needed AND given
        trusted = trusted and self.needs_trust(meta)
        if not trusted and _auto_map(folder):  # metadata may lie: the files decide too
            raise ValidationError("this checkpoint's config names custom code (auto_map) that its metadata "
                                  "does not declare; refusing to load it")
        options = {"local_files_only": True, "trust_remote_code": trusted}
        parts = {}
        for key, class_name in (meta.get("classes") or {"model": "AutoModel"}).items():
            cls = _resolve(transformers, class_name, key, trusted)
            extra = {} if key != "model" or trusted else {"use_safetensors": True}
            parts[key] = cls.from_pretrained(part_folder(folder, meta, key), **options, **extra)
        if hasattr(parts["model"], "eval"):
            parts["model"].eval()
        if meta.get("kind") == "pipeline":
            return transformers.pipeline(meta["task"], **parts, trust_remote_code=trusted)
        if meta.get("kind") == "parts":
            return parts
        return parts["model"]

    def predict(self, model: Any, data: Any, method: str) -> Any:
        """Pipelines are called on the inputs; a model with a tokenizer scores texts (``predict``:
        the label of the highest logit, ``predict_proba``: softmax); a bare model takes named tensors."""
        import numpy as np
        import torch

        if method not in ("predict", "predict_proba"):
            raise ValueError(f"a transformers model has no {method}")
        if is_pipeline(model):
            return model(_texts(data))
        parts = model if isinstance(model, dict) else {"model": model}
        net, tokenizer = parts["model"], parts.get("tokenizer")
        with torch.no_grad():
            if tokenizer is not None:
                inputs = tokenizer(_texts(data), padding=True, truncation=True, return_tensors="pt")
            else:
                inputs = {k: torch.as_tensor(np.asarray(v)) for k, v in _named(data).items()}
            out = net(**inputs)
        logits = getattr(out, "logits", out[0] if isinstance(out, tuple) else out)
        if method == "predict_proba":
            return torch.softmax(logits, dim=-1).cpu().numpy()
        ids = logits.argmax(dim=-1).cpu().numpy()
        labels = getattr(net.config, "id2label", None) or {}
        return np.asarray([labels.get(int(i), int(i)) for i in ids], dtype=object)


def _resolve(transformers, class_name: str, key: str, trusted: bool):
    """The class to call ``from_pretrained`` on: transformers' own by name; any other only when trusted."""
    if ":" not in class_name:
        cls = getattr(transformers, class_name, None)
        if cls is None or not hasattr(cls, "from_pretrained"):
            return getattr(transformers, AUTO_PARTS.get(key, "AutoModel"))
        return cls
    if not trusted:
        raise ValidationError(f"{class_name} is not a transformers class; load with trust=True to import it")
    module, _, qualname = class_name.partition(":")
    try:
        target = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ValidationError(f"cannot import {class_name}: {exc}") from None
    return target


def _texts(data: Any) -> list:
    """Inputs as a list of texts: a Series, a one-column DataFrame, an array or a list."""
    if hasattr(data, "columns"):
        if len(data.columns) != 1:
            raise ValidationError(f"expected one column of text, got {len(data.columns)} columns")
        data = data.iloc[:, 0]
    if hasattr(data, "tolist"):
        data = data.tolist()
    if isinstance(data, str):
        return [data]
    return [row[0] if isinstance(row, (list, tuple)) and len(row) == 1 else row for row in data]


def _named(data: Any) -> dict:
    if isinstance(data, dict):
        return data
    if hasattr(data, "columns"):
        return {str(c): data[c].tolist() for c in data.columns}
    return {"input_ids": data}
