"""Who may do what: actions, roles, the role file, and JupyterHub scopes (pure Python, no Jupyter).

An **action** is one permission (:data:`ACTIONS`). A **role** is a named set of grants; a grant is an
action, optionally limited to aliases (``promote:staging``, ``promote:dev-*``) and, per role, to
model-name globs. A **role file** (YAML or TOML) defines roles and gives them to users, groups and
everyone (``default``)::

    roles:
      reader: [read]
      scientist: [read, register, edit, comment, review, "promote:staging"]
      release: [read, comment, review, promote]
      churn-owners: {can: [edit, delete, promote], models: ["churn*"]}
      admin: ["*"]
    users:  {carol: [admin]}
    groups: {ds: [scientist], release: [release]}
    default: [reader]

On a JupyterHub service, custom scopes granted through Hub roles add grants: ``custom:nbregistry:<action>``
and, for alias actions, ``custom:nbregistry:promote:<alias>`` (see :func:`grants_from_scopes`).
Without a role file every authenticated person may do everything (:data:`OPEN`), as before roles existed.
Documented in docs/team.md.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ValidationError

# Every action, each its own permission. ``promote`` covers promote, rollback, setting an alias and
# removing one, per alias.
ACTIONS = ("read", "register", "edit", "comment", "review", "promote", "set_policy", "delete", "admin")
ALIAS_ACTIONS = frozenset({"promote"})
SCOPE_PREFIX = "custom:nbregistry:"


@dataclass(frozen=True)
class Grant:
    """One action, on aliases matching ``alias`` (alias actions only) of models matching ``models``."""

    action: str
    alias: str = "*"
    models: tuple = ("*",)

    def allows(self, action: str, model: str | None, alias: str | None) -> bool:
        if self.action not in (action, "*"):
            return False
        if model is not None and not any(fnmatch.fnmatchcase(model.lower(), g.lower()) for g in self.models):
            return False
        if action in ALIAS_ACTIONS and alias is not None and not fnmatch.fnmatchcase(alias, self.alias):
            return False
        return True

    def text(self) -> str:
        return self.action if self.alias == "*" else f"{self.action}:{self.alias}"


def parse_grant(text: object, models: tuple = ("*",), where: str = "") -> Grant:
    """``"read"``, ``"promote"``, ``"promote:staging"``, ``"promote:dev-*"`` or ``"*"`` (everything)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{where}: a grant is an action name, not {text!r}")
    action, _, alias = text.strip().partition(":")
    if action != "*" and action not in ACTIONS:
        raise ValidationError(f"{where}: unknown action {action!r}; actions are {', '.join(ACTIONS)}")
    if alias and action not in ALIAS_ACTIONS:
        raise ValidationError(f"{where}: only {', '.join(sorted(ALIAS_ACTIONS))} take an alias (':{alias}')")
    return Grant(action, alias or "*", models)


@dataclass
class Roles:
    """Role definitions and who holds them. ``open`` roles let everyone do everything."""

    roles: dict = field(default_factory=dict)      # name -> tuple[Grant]
    users: dict = field(default_factory=dict)      # username -> [role names]
    groups: dict = field(default_factory=dict)     # group -> [role names]
    default: list = field(default_factory=list)    # role names every authenticated person holds
    open: bool = False
    source: str = ""

    def roles_of(self, user: str, groups=()) -> list[str]:
        """The role names ``user`` holds (own, through ``groups``, and the default ones)."""
        if self.open:
            return ["everyone"]
        names = list(self.default) + list(self.users.get(user, ()))
        for group in groups:
            names += self.groups.get(group, ())
        return sorted(dict.fromkeys(names))

    def grants_of(self, user: str, groups=()) -> list[Grant]:
        if self.open:
            return [Grant("*")]
        return [g for name in self.roles_of(user, groups) for g in self.roles.get(name, ())]

    def roles_allowing(self, action: str, model: str | None = None, alias: str | None = None) -> list[str]:
        """The names of the roles that would allow the action (for the 403 message)."""
        return sorted(name for name, grants in self.roles.items() if any(g.allows(action, model, alias)
                                                                          for g in grants))


OPEN = Roles(open=True, source="(no role file: everyone may do everything)")
# A JupyterHub service without a role file: Hub users may read; custom:nbregistry:* scopes grant the rest.
HUB_DEFAULT = Roles(roles={"hub-user": (Grant("read"),)}, default=["hub-user"],
                    source="(no role file: JupyterHub scopes)")


def parse_roles(data: object, source: str = "role file") -> Roles:
    """Roles from the parsed YAML/TOML mapping; every mistake is named with where it is."""
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: expected a mapping with 'roles', 'users', 'groups', 'default'")
    unknown = sorted(set(data) - {"roles", "users", "groups", "default"})
    if unknown:
        raise ValidationError(f"{source}: unknown section(s) {', '.join(unknown)}; "
                              "expected roles, users, groups, default")
    roles = {}
    for name, spec in (data.get("roles") or {}).items():
        where = f"{source}: role {name!r}"
        models: tuple = ("*",)
        if isinstance(spec, dict):
            extra = sorted(set(spec) - {"can", "models", "description"})
            if extra:
                raise ValidationError(f"{where}: unknown key(s) {', '.join(extra)}; expected can, models")
            models = spec.get("models") or ["*"]
            if isinstance(models, str):
                models = [models]
            if not all(isinstance(m, str) and m for m in models):
                raise ValidationError(f"{where}: models must be a list of name globs")
            models, spec = tuple(models), spec.get("can") or []
        if isinstance(spec, str):
            spec = [spec]
        if not isinstance(spec, list):
            raise ValidationError(f"{where}: expected a list of actions or {{can: [...], models: [...]}}")
        roles[str(name)] = tuple(parse_grant(g, models, where) for g in spec)

    def holders(section: str) -> dict:
        out = {}
        for who, names in (data.get(section) or {}).items():
            names = [names] if isinstance(names, str) else names
            if not isinstance(names, list):
                raise ValidationError(f"{source}: {section}.{who} must be a list of role names")
            for role in names:
                if role not in roles:
                    raise ValidationError(f"{source}: {section}.{who} names an undefined role {role!r}")
            out[str(who)] = list(names)
        return out

    default = data.get("default") or []
    default = [default] if isinstance(default, str) else default
    for role in default:
        if role not in roles:
            raise ValidationError(f"{source}: default names an undefined role {role!r}")
    return Roles(roles=roles, users=holders("users"), groups=holders("groups"), default=list(default),
                 source=source)


def load_roles(path: str | Path) -> Roles:
    """Read a role file: ``.toml`` with tomllib, anything else (``.yaml``/``.yml``) with PyYAML."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValidationError(f"cannot read the role file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{path}: not valid TOML: {exc}") from None
    else:
        try:
            import yaml
        except ImportError:
            raise ValidationError(f"{path}: YAML role files need PyYAML (pip install pyyaml), "
                                  "or write the role file as TOML (roles.toml)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValidationError(f"{path}: not valid YAML: {exc}") from None
    return parse_roles(data, str(path))


def grants_from_scopes(scopes) -> list[Grant]:
    """Grants carried by JupyterHub custom scopes: ``custom:nbregistry:<action>`` and
    ``custom:nbregistry:promote:<alias>``. JupyterHub only knows user/group/service/server filters,
    so model-name limits come from the role file, not from scopes. Unknown scopes are ignored."""
    grants = []
    for scope in scopes or ():
        if not scope.startswith(SCOPE_PREFIX) or "!" in scope:
            continue
        action, _, alias = scope[len(SCOPE_PREFIX):].partition(":")
        if action in ACTIONS and (not alias or action in ALIAS_ACTIONS):
            grants.append(Grant(action, alias or "*"))
    return grants


def scope_for(action: str, alias: str | None = None) -> str:
    """The custom scope that grants ``action`` (on ``alias``) on a JupyterHub service."""
    return SCOPE_PREFIX + action + (f":{alias}" if alias and action in ALIAS_ACTIONS else "")


@dataclass
class Caller:
    """Someone acting: name, groups, the roles they hold and every grant (roles + Hub scopes)."""

    user: str
    groups: tuple = ()
    roles: tuple = ()
    grants: tuple = ()
    hub: bool = False

    @classmethod
    def of(cls, roles: Roles, user: str, groups=(), scopes=None, *, hub: bool = False) -> "Caller":
        grants = roles.grants_of(user, groups) + grants_from_scopes(scopes)
        return cls(user, tuple(groups), tuple(roles.roles_of(user, groups)), tuple(grants), hub)

    def may(self, action: str, model: str | None = None, alias: str | None = None) -> bool:
        """Whether the caller may do ``action`` (on ``model``, on ``alias``). ``model=None``: on some
        model (the name is checked again once known)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        return any(g.allows(action, model, alias) for g in self.grants)

    def reason(self, roles: Roles, action: str, model: str | None = None, alias: str | None = None) -> str:
        """Why the action is refused, naming the role (and on a Hub the scope) that would allow it."""
        allowing = roles.roles_allowing(action, model, alias)
        scope = f"scope {scope_for(action, alias)}" if self.hub else ""
        if allowing:
            text = "needs role " + " or ".join(repr(r) for r in allowing)
            return f"{text} ({scope})" if scope else text
        return f"needs {scope}" if scope else "no role grants it"

    def summary(self, roles: Roles, model: str | None = None, aliases=()) -> dict:
        """The ``can``/``aliases``/``reasons`` part of ``GET /whoami`` (docs/team.md). ``aliases``:
        alias names to report besides those any grant names (e.g. the model's own aliases)."""
        can, reasons = {}, {}
        for action in ACTIONS:
            if action == "promote":  # some alias may be moved
                can[action] = any(g.action in ("promote", "*") and g.allows("promote", model, None)
                                  for g in self.grants)
            else:
                can[action] = self.may(action, model)
            if not can[action]:
                reasons[action] = self.reason(roles, action, model)
        named = set(aliases)
        for grants in [self.grants, *roles.roles.values()]:
            named |= {g.alias for g in grants if g.action in ("promote", "*")}
        by_alias = {"*": any(g.action in ("promote", "*") and g.alias == "*" and g.allows("promote", model, None)
                             for g in self.grants)}
        for alias in sorted(a for a in named if not any(ch in a for ch in "*?[")):
            by_alias[alias] = self.may("promote", model, alias)
        for alias, allowed in by_alias.items():
            if not allowed:
                reasons[f"promote:{alias}"] = self.reason(roles, "promote", model, None if alias == "*" else alias)
        return {"can": can, "aliases": by_alias, "reasons": reasons}
