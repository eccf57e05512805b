"""The registry core: storage, refs, search, flavors, lineage. Imports nothing from Jupyter."""

from .errors import (Conflict, IntegrityError, InvalidName, InvalidRef, InvalidSearch, NotFound,
                     PermissionDenied, RegistryError, SchemaTooNew, TrustRequired, ValidationError)
from .refs import Ref, parse_ref
from .registry import Registry

__all__ = ["Registry", "Ref", "parse_ref", "RegistryError", "InvalidName", "InvalidRef", "InvalidSearch",
           "ValidationError", "NotFound", "Conflict", "PermissionDenied", "TrustRequired", "IntegrityError",
           "SchemaTooNew"]
