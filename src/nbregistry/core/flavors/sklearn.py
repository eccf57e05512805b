"""The ``sklearn`` flavor: scikit-learn estimators, saved with skops when installed, else joblib.

skops files load without unpickling; only types outside skops' trusted set (custom classes in a
pipeline, say) need trust. joblib files are pickles and always do.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor


class SklearnFlavor(Flavor):
    name = "sklearn"
    priority = 50

    def handles(self, obj: Any) -> bool:
        base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
        return base is not None and isinstance(obj, base)

    def save(self, obj: Any, folder: Path) -> dict:
        import sklearn

        meta = {"sklearn_version": sklearn.__version__, "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
        try:
            import skops.io as sio
        except ImportError:
            sio = None
        why = "skops is not installed (pip install 'nbregistry[sklearn]')"
        if sio is not None:
            try:
                (folder / "model.skops").write_bytes(canonical_skops(sio.dumps(obj)))
                untrusted = sio.get_untrusted_types(file=folder / "model.skops")
                return {**meta, "format": "skops", "untrusted_types": sorted(untrusted)}
            except Exception as exc:
                (folder / "model.skops").unlink(missing_ok=True)  # fall back to joblib below
                why = f"skops cannot save it ({type(exc).__name__}: {exc})"
        import joblib

        try:
            joblib.dump(obj, folder / "model.joblib")
        except Exception as exc:
            raise ValidationError(f"cannot serialize {type(obj).__name__}: {exc}") from None
        return {**meta, "format": "joblib", "_warnings": [
            f"{type(obj).__name__} was saved with joblib, a pickle, because {why}: anyone else will need "
            "trust=True to load it"]}

    def needs_trust(self, meta: dict) -> bool:
        return meta.get("format") != "skops" or bool(meta.get("untrusted_types"))

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        if meta.get("format") == "skops":
            import skops.io as sio

            return sio.load(folder / "model.skops", trusted=meta.get("untrusted_types") or None)
        import joblib

        return joblib.load(folder / "model.joblib")


def canonical_skops(data: bytes) -> bytes:
    """The same skops archive with stable ids, member names and timestamps, so equal models give
    equal bytes (and are stored once).

    skops records ``id()`` of objects (``"__id__": N`` in schema.json, and array members named
    ``N.npy``) and stamps the current time; all of these change from one save to the next. Ids are
    renumbered in order of first appearance in the schema, consistently in both places.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = src.read("schema.json").decode()
    mapping: dict[str, str] = {}

    def canonical(old: str) -> str:
        return mapping.setdefault(old, str(len(mapping) + 1))

    schema = re.sub(r'("__id__": )(\d+)|"(\d+)(\.npy)"',
                    lambda m: m.group(1) + canonical(m.group(2)) if m.group(1) else f'"{canonical(m.group(3))}{m.group(4)}"',
                    schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        members = [("schema.json", schema.encode(), src.getinfo("schema.json").compress_type)]
        for info in src.infolist():
            if info.filename == "schema.json":
                continue
            stem, dot, suffix = info.filename.partition(".")
            name = f"{mapping.get(stem, stem)}{dot}{suffix}"
            members.append((name, src.read(info), info.compress_type))
        for name, content, compress in sorted(members, key=lambda m: (m[0] != "schema.json", m[0])):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = compress
            dst.writestr(entry, content)
    return out.getvalue()
