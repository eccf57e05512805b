"""Result objects returned by the registry. Each has ``to_dict()`` (the JSON shapes documented in
docs/rest-api.md), ``from_dict()``, a short ``__repr__`` and an HTML view for notebooks.

The HTML itself is a face's (``nbregistry.notebook.display``, lent through the ``html`` hook of
core/hooks.py) and is imported only when asked for, so the core stays free of any notebook machinery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


class _Rich:
    """Mixin: notebooks render these objects through the ``html`` hook (``nbregistry.notebook.display``)."""

    def _repr_html_(self) -> str:
        from .hooks import provided

        return provided("html")(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Model(_Rich):
    name: str
    description: str = ""
    tags: dict = field(default_factory=dict)
    created_at: str = ""
    created_by: str = ""
    archived: bool = False
    latest_version: int | None = None
    version_count: int = 0
    aliases: dict = field(default_factory=dict)
    updated_at: str = ""  # newest version's created_at (filled by list_models)
    latest_metric: float | None = None  # list_models(metric=...): that metric of the latest version
    last_version: int | None = None  # the highest number ever given (archived ones too): the next is +1

    def __repr__(self) -> str:
        latest = f":{self.latest_version}" if self.latest_version else ""
        return f"<Model {self.name}{latest} ({self.version_count} versions)>"


@dataclass
class ModelVersion(_Rich):
    name: str
    version: int
    created_at: str = ""
    author: str = ""
    description: str = ""
    status: str = "active"
    flavor: str = ""
    tags: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    aliases: list = field(default_factory=list)
    signature: dict | None = None
    lineage: dict | None = None
    artifact: dict = field(default_factory=dict)
    has_input_example: bool = False
    identity: str = "local"          # how the author was established (core/identity.py)
    claimed_by: str | None = None    # a name the client claimed but could not prove (display only)
    # Not part of the JSON shape: set by a registry so that ``.load()`` works.
    registry: Any = field(default=None, repr=False, compare=False)
    flavor_meta: dict = field(default_factory=dict, repr=False, compare=False)
    deduplicated: bool = field(default=False, repr=False, compare=False)
    warnings: list = field(default_factory=list, repr=False, compare=False)
    # {dataset: {"id", "fingerprint", "metrics"}}, latest per dataset; loaded only for comparisons
    evaluations: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def author_counts(self) -> bool:
        """Whether the author is a verified (or local) identity: only then is it an author for trust."""
        from .identity import counts

        return counts(self.identity)

    def load(self, *, trust: bool = False):
        """Load this version's object (see :meth:`Registry.load`)."""
        if self.registry is None:
            raise RuntimeError("this ModelVersion is not attached to a registry")
        return self.registry.load(self.ref, trust=trust)

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("registry", "flavor_meta", "deduplicated", "warnings", "evaluations")}
        data["ref"] = self.ref
        return data

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(self.metrics.items())[:4])
        aliases = "".join(f" @{a}" for a in self.aliases)
        return f"<ModelVersion {self.ref}{aliases} {self.flavor}{' ' + metrics if metrics else ''}>"


@dataclass
class AliasMove(_Rich):
    id: int
    model: str
    alias: str
    version: int | None
    previous: int | None
    time: str
    actor: str
    reason: str | None = None
    kind: str = "set"
    forced: bool = False
    report: dict | None = None

    def __repr__(self) -> str:
        prev = f":{self.previous}" if self.previous is not None else " (none)"
        new = f":{self.version}" if self.version is not None else " (removed)"
        return f"<AliasMove {self.model}@{self.alias}{prev} -> {new} by {self.actor} at {self.time}>"


@dataclass
class Event(_Rich):
    id: int
    time: str
    actor: str
    origin: str
    action: str
    model: str | None
    version: int | None
    ref: str | None
    payload: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Event #{self.id} {self.action} {self.ref or ''} by {self.actor}>"


def to_jsonable(obj: Any) -> Any:
    """The machine-readable form of a result (what the CLI's ``--json`` and the REST API send):
    ``to_dict()`` of each entity, inside dicts and lists."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


class Results(list):
    """A list of result objects that renders as one table in notebooks."""

    def __init__(self, items=(), *, title: str = "", total: int | None = None, total_capped: bool = False):
        super().__init__(items)
        self.title = title
        self.total = len(self) if total is None else total
        # True when there are more than ``total`` matches (searches count up to 10,000: "10,000+")
        self.total_capped = total_capped

    def _repr_html_(self) -> str:
        from .hooks import provided

        return provided("html")(self)

    def to_dict(self) -> list:
        return [item.to_dict() for item in self]


@dataclass
class VerifyReport(_Rich):
    checked_versions: int = 0
    checked_blobs: int = 0
    checked_bytes: int = 0
    fast: bool = False
    problems: list = field(default_factory=list)  # {"ref", "blob", "path", "problem"}

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        state = "clean" if self.ok else f"{len(self.problems)} problem(s)"
        return f"<VerifyReport {self.checked_versions} versions, {self.checked_blobs} blobs: {state}>"


@dataclass
class GCReport(_Rich):
    removed_blobs: int = 0
    removed_bytes: int = 0
    kept_recent: int = 0
    removed_tmp: int = 0
    dry_run: bool = False
    removed: list = field(default_factory=list)

    def __repr__(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (f"<GCReport {verb} {self.removed_blobs} blobs ({self.removed_bytes} bytes),"
                f" kept {self.kept_recent} recent unreferenced>")


@dataclass
class Comment(_Rich):
    """A comment on a model (``version`` is ``None``) or a version; a review when ``verdict`` is set."""

    id: int
    model: str
    version: int | None
    author: str
    body: str
    anchor: str | None = None
    reply_to: int | None = None
    verdict: str | None = None  # None | "approve" | "request-changes"
    created_at: str = ""
    edited_at: str | None = None
    deleted: bool = False
    identity: str = "local"
    claimed_by: str | None = None

    @property
    def author_counts(self) -> bool:
        """Whether the author is a verified (or local) identity: only then does a review count."""
        from .identity import counts

        return counts(self.identity)

    @property
    def ref(self) -> str:
        return self.model if self.version is None else f"{self.model}:{self.version}"

    def __repr__(self) -> str:
        kind = f"review ({self.verdict})" if self.verdict else "comment"
        where = self.ref + (f" [{self.anchor}]" if self.anchor else "")
        text = "(deleted)" if self.deleted else repr(self.body[:40] + ("…" if len(self.body) > 40 else ""))
        return f"<Comment #{self.id} {kind} on {where} by {self.author}: {text}>"


@dataclass
class GateReport(_Rich):
    """What a policy says about moving ``alias`` to ``ref``: one entry per gate, each with the values compared."""

    ref: str
    alias: str
    allowed: bool
    gates: list = field(default_factory=list)  # [{"name", "passed", "detail"}]

    @property
    def failed(self) -> list:
        return [g for g in self.gates if not g["passed"]]

    def __str__(self) -> str:
        head = f"{self.ref} -> {self.alias}: {'allowed' if self.allowed else 'refused'}"
        lines = [f"  [{'pass' if g['passed'] else 'FAIL'}] {g['name']}: {g['detail']}" for g in self.gates]
        return "\n".join([head, *lines]) if lines else head + " (no policy gates)"

    def __repr__(self) -> str:
        return f"<GateReport {self.ref} -> {self.alias}: {'allowed' if self.allowed else 'refused'}," \
               f" {len(self.failed)} of {len(self.gates)} gates failed>"


@dataclass
class Policy(_Rich):
    """The rules for moving one alias of one model (see docs/collaboration.md)."""

    model: str
    alias: str
    required_approvals: int = 0
    gates: list = field(default_factory=list)  # [{"type": "metric", "expr": ...}, {"type": "signature"}, ...]
    allow_force: bool = False

    @property
    def empty(self) -> bool:
        return not self.required_approvals and not self.gates

    def __repr__(self) -> str:
        gates = ", ".join(g.get("expr", g["type"]) for g in self.gates) or "no gates"
        force = ", force allowed" if self.allow_force else ""
        return f"<Policy {self.model}@{self.alias}: {self.required_approvals} approval(s), {gates}{force}>"


@dataclass
class ActivityItem(_Rich):
    """One line of the activity feed, built from an event."""

    id: int
    time: str
    actor: str
    action: str
    ref: str | None
    summary: str

    def __repr__(self) -> str:
        return f"<ActivityItem #{self.id} {self.time} {self.summary}>"


# ==================================================================== webhooks (core/deployment.py)
@dataclass
class Webhook(_Rich):
    id: int
    url: str
    events: str = "*"
    model: str | None = None
    active: bool = True
    created_at: str = ""
    created_by: str = ""
    description: str = ""
    pending: int = 0
    failed: int = 0
    # Only filled in by ``add_webhook`` (the one time it is shown); never listed afterwards.
    secret: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        scope = f" model={self.model}" if self.model else ""
        return f"<Webhook #{self.id} {self.url} events={self.events}{scope}>"


@dataclass
class WebhookDelivery(_Rich):
    id: int
    webhook_id: int
    event_id: int | None
    action: str
    status: str  # pending | delivered | failed
    attempts: int
    created_at: str
    finished_at: str | None = None
    next_attempt_at: float | None = None
    log: list = field(default_factory=list)  # [{"attempt", "time", "status_code", "error", "duration_ms"}]

    def __repr__(self) -> str:
        return f"<WebhookDelivery #{self.id} {self.action} -> webhook {self.webhook_id}: {self.status} ({self.attempts} attempts)>"
