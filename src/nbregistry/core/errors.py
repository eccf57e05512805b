"""Errors raised by the registry core.

Every error carries a short ``code`` that faces translate without knowing the class hierarchy:
the REST server maps codes to HTTP statuses, the CLI to exit codes, the magics to ``UsageError``.
"""


class RegistryError(Exception):
    """Base class of every error the registry raises on purpose."""

    code = "error"


class InvalidName(RegistryError, ValueError):
    """A model or alias name that breaks the naming rules."""

    code = "bad_request"


class InvalidRef(RegistryError, ValueError):
    """A ref that cannot be parsed (``churn``, ``churn:3``, ``churn@production`` are valid)."""

    code = "bad_request"


class InvalidSearch(RegistryError, ValueError):
    """A search expression or ordering that cannot be compiled."""

    code = "bad_request"


class ValidationError(RegistryError, ValueError):
    """Bad input: a NaN metric, an unsafe artifact path, an unserializable object, ..."""

    code = "bad_request"


class NotFound(RegistryError, LookupError):
    """A model, version, alias or comment that does not exist."""

    code = "not_found"


class Conflict(RegistryError):
    """The request clashes with the registry's state (e.g. deleting a version an alias holds)."""

    code = "conflict"


class PolicyRefused(Conflict):
    """A promotion the alias's policy refuses; ``.report`` is the :class:`GateReport` that says why."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report

    def __reduce__(self):  # keep the report when pickled (multiprocessing, remote faces)
        return (type(self), (str(self), self.report))


class PermissionDenied(RegistryError):
    """The caller may not do this (edit someone else's comment, load untrusted pickle, ...)."""

    code = "forbidden"


class TrustRequired(PermissionDenied):
    """Loading would unpickle a model authored by someone else; pass ``trust=True`` to allow it."""


class IntegrityError(RegistryError):
    """Stored content does not match its recorded hash, or a blob is missing."""

    code = "integrity"


class SchemaTooNew(RegistryError):
    """The registry database was written by a newer nbregistry."""

    code = "schema"
