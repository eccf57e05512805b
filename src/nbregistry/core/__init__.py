"""The registry core: storage, refs, search, flavors, lineage. Imports nothing from Jupyter, nor any face.

``Registry`` is imported on first use, so that the faces can fill the core's hooks (``core/hooks.py``)
from ``import nbregistry`` without loading the registry.
"""

from .errors import (Conflict, IntegrityError, InvalidName, InvalidRef, InvalidSearch, NotFound,
                     PermissionDenied, RegistryError, SchemaTooNew, TrustRequired, ValidationError)
from .refs import Ref, parse_ref

__all__ = ["Registry", "Ref", "parse_ref", "RegistryError", "InvalidName", "InvalidRef", "InvalidSearch",
           "ValidationError", "NotFound", "Conflict", "PermissionDenied", "TrustRequired", "IntegrityError",
           "SchemaTooNew"]


def __getattr__(name: str):
    if name == "Registry":
        from .registry import Registry

        return Registry
    raise AttributeError(f"module 'nbregistry.core' has no attribute {name!r}")
