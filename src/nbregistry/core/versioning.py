"""Versioning beyond registering: revert to an earlier version, rename or delete a model, and the
names a model leaves behind. ``VersioningMixin`` is a base of :class:`Registry`; its methods use the
registry's store, ref resolution, events and entity builders.

Rules (docs/python-api.md, "Versioning"):

- ``revert("churn:2")`` records a NEW version whose artifacts, signature, input example, lineage,
  params, metrics and tags are those of churn:2. Nothing is copied: blobs are content-addressed, so
  the new version's rows point at the same blobs. Its lineage carries ``revert_of`` (the link), and
  the event ``version.reverted`` records it. Loading it follows the trust rule for the ORIGINAL
  author too, so reverting someone's pickle does not make it yours.
- A renamed model's old name and a deleted model's name are *retired*: they never resolve to
  another model. Refs using them fail with a message naming what happened ("renamed to X"), and no
  new model takes such a name until someone frees it explicitly with :meth:`release_name`.
- Renaming or deleting a model whose aliases are held is refused unless ``force=True`` with a
  ``reason`` (deployments follow ``name@alias``).
"""

from __future__ import annotations

import json
from typing import Any

from . import store_versioning as sv
from .entities import Model, ModelVersion
from .errors import Conflict, NotFound, ValidationError
from .limits import DEFAULT_LIMITS, check_text
from .refs import validate_name
from .store import now_iso


class VersioningMixin:
    """Revert, rename, delete and retired names (see the module doc)."""

    # ============================================================ revert
    def revert(self, ref: str, *, reason: str | None = None, description: str | None = None) -> ModelVersion:
        """Record a new version that is ``ref`` again: same artifacts, signature, input example,
        lineage, params, metrics and tags (no bytes copied), linked to it as ``lineage["revert_of"]``
        and recorded as a ``version.reverted`` event. ``description`` defaults to "Revert of <ref>"."""
        reason = _clean_text(reason, "reason")
        if description is not None:
            check_text(description, "description", max_chars=self.limits.description_chars)
        with self.store.write() as conn:
            model, number = self._resolve(ref, conn)
            source = self._versions("v.model_id = ? AND v.version = ?", [model["id"], number], lineage=True,
                                    conn=conn)[0]
            row = self.store.version_row(model["id"], number, lineage=False, conn=conn)
            blobs = self.store.version_blob_shas(row["id"], conn)
            lineage = dict(source.lineage or {})
            earlier = lineage.get("revert_of") if isinstance(lineage.get("revert_of"), dict) else {}
            lineage["revert_of"] = {
                "ref": source.ref, "version": number, "author": source.author,
                "artifact_sha256": row["artifact_sha"], "reverted_by": self.author, "reason": reason,
                # everyone whose artifact this is: the trust rule asks for all of them
                "authors": sorted({source.author, *(earlier.get("authors") or [])}),
                # and whether each of them was a verified identity (a claimed name never becomes trusted)
                "all_counted": bool(source.author_counts and earlier.get("all_counted", True)),
            }
            if description is None:
                description = f"Revert of {source.ref}" + (f": {reason}" if reason else "")
            created = now_iso()
            _, new = self.store.insert_version(
                conn, model["id"], author=self.author, description=description, flavor=row["flavor"],
                flavor_meta=json.loads(row["flavor_meta"]), artifact_sha=row["artifact_sha"],
                artifact_size=row["artifact_size"], signature=source.signature,
                input_example_sha=row["input_example_sha"], lineage=lineage, metrics=source.metrics,
                params=source.params, tags=source.tags, blobs=blobs, created_at=created,
                identity=self.identity, claimed_by=self.claimed_by)
            self._event(conn, "version.reverted", model["name"], new,
                        {"revert_of": number, "flavor": row["flavor"], "sha256": row["artifact_sha"],
                         "size": row["artifact_size"], "metrics": source.metrics, "reason": reason},
                        time_=created)
        return self.get(f"{model['name']}:{new}")

    # ============================================================ rename, delete, names
    def rename_model(self, name: str, new_name: str, *, force: bool = False, reason: str | None = None) -> Model:
        """Give a model a new name. Its versions, aliases, comments, policies and cards follow it; the
        old name is retired (refs using it say "renamed to NEW"; no other model takes it silently).
        Refused while aliases are held unless ``force=True`` with a ``reason``."""
        validate_name(new_name)
        reason = _clean_text(reason, "reason")
        with self.store.write() as conn:
            model = self._model_row(name, conn)
            old = model["name"]
            if new_name == old:
                return self._models([self.store.model_row(old, conn, counts=True)], conn)[0]
            other = self.store.model_row(new_name, conn)
            if other is not None and other["id"] != model["id"]:
                raise Conflict(f"a model named {other['name']!r} already exists")
            retired = sv.retired_name(conn, new_name)
            if retired is not None and retired["model_id"] != model["id"]:
                raise Conflict(f"the name {new_name!r} is retired ({_retired_text(retired)}); free it first with "
                               f"release_name({new_name!r}) if it may name another model")
            aliases = self._guard_aliases(conn, model, force, reason, "rename")
            when = now_iso()
            sv.release_name(conn, new_name)  # taking back one of its own earlier names
            sv.rename_model(conn, model["id"], new_name)
            if new_name.lower() != old.lower():
                sv.retire_name(conn, old, model_id=model["id"], status="renamed", successor=new_name, time_=when,
                               actor=self.author, reason=reason)
            self._event(conn, "model.renamed", new_name, None,
                        {"previous": old, "name": new_name, "reason": reason, "forced": bool(aliases),
                         "aliases": aliases}, time_=when)
            return self._models([self.store.model_row(new_name, conn, counts=True)], conn)[0]

    def delete_model(self, name: str, *, force: bool = False, reason: str | None = None) -> dict:
        """Delete a model with its versions, aliases, history, comments, policies, cards and
        evaluations (events stay; blobs stay until ``gc``). The name is retired. Refused while
        aliases are held unless ``force=True`` with a ``reason``. Returns what was removed."""
        reason = _clean_text(reason, "reason")
        with self.store.write() as conn:
            model = self._model_row(name, conn)
            aliases = self._guard_aliases(conn, model, force, reason, "delete")
            versions = self.store.version_numbers(model["id"], conn)
            when = now_iso()
            counts = sv.delete_model(conn, model["id"])
            sv.retire_name(conn, model["name"], model_id=None, status="deleted", successor=None, time_=when,
                           actor=self.author, reason=reason)
            payload = {"versions": versions, "aliases": aliases, "reason": reason, "forced": bool(aliases),
                       "removed": counts}
            self._event(conn, "model.deleted", model["name"], None, payload, time_=when)
        return {"deleted": model["name"], **payload}

    def release_name(self, name: str, *, reason: str | None = None) -> str:
        """Free a retired model name (left by a rename or a deletion) so a new model may take it.
        Recorded as a ``model.name_released`` event."""
        validate_name(name)
        reason = _clean_text(reason, "reason")
        with self.store.write() as conn:
            row = sv.retired_name(conn, name)
            if row is None:
                if self.store.model_row(name, conn) is not None:
                    raise Conflict(f"{name!r} names a model; rename or delete it instead")
                raise NotFound(f"{name!r} is not a retired model name")
            sv.release_name(conn, name)
            self._event(conn, "model.name_released", row["name"], None,
                        {"was": _retired_text(row), "reason": reason})
        return row["name"]

    def _names_of(self, name: str, conn=None) -> list[str]:
        """``name`` and, when it names a live model, the names that model had before (renames)."""
        conn = conn or self.store.conn
        row = self.store.model_row(name, conn)
        return [name] if row is None else [row["name"], *sv.names_of_model(conn, row["id"])]

    def _guard_aliases(self, conn, model, force: bool, reason: str | None, verb: str) -> dict:
        aliases = self.store.model_aliases([model["id"]], conn)[model["id"]]
        if not isinstance(force, bool):
            raise ValidationError(f"force must be True or False, not {force!r}")
        if aliases and not force:
            held = ", ".join(f"@{a} -> {model['name']}:{v}" for a, v in aliases.items())
            raise Conflict(f"{model['name']} holds alias(es) {held}; whatever follows them would break. Move or "
                           f"remove them first, or {verb} with force=True and a reason")
        if aliases and not reason:
            raise ValidationError(f"force=True needs a reason saying why {model['name']} is {verb}d while its "
                                  "aliases are held")
        return aliases

    def _no_model(self, name: str, conn=None) -> NotFound:
        """The error for a name no model holds: says when it was renamed (and to what) or deleted."""
        row = sv.retired_name(conn or self.store.conn, name)
        if row is None:
            return NotFound(f"no model named {name!r}")
        return NotFound(f"no model named {name!r}: it {_retired_text(row)}")

    def _check_name_free(self, conn, name: str) -> None:
        """Refuse to create a model under a retired name (see :meth:`release_name`)."""
        row = sv.retired_name(conn, name)
        if row is not None:
            target = f"; register to {row['current']!r}" if row["current"] else ""
            raise Conflict(f"the model name {name!r} is retired: it {_retired_text(row)}{target}, or free the name "
                           f"with release_name({name!r}) if it may name a new model")


# ==================================================================== helpers
VERSIONING_ACTIONS = ("version.reverted", "model.renamed", "model.deleted", "model.name_released", "card.updated",
                      "evaluation.added")


def versioning_summary(action: str, actor: str, model: str | None, ref: str | None, payload: dict) -> str:
    """The activity-feed line of a versioning, card or evaluation event."""
    why = f": {payload['reason']}" if payload.get("reason") else ""
    held = " (forced while its aliases were held)" if payload.get("forced") else ""
    if action == "version.reverted":
        return f"{actor} reverted {model} to :{payload.get('revert_of')} as {ref} (revert of " \
               f"{model}:{payload.get('revert_of')}){why}"
    if action == "model.renamed":
        return f"{actor} renamed model {payload.get('previous')} to {model}{held}{why}"
    if action == "model.deleted":
        return f"{actor} deleted model {model} ({len(payload.get('versions') or [])} versions){held}{why}"
    if action == "model.name_released":
        return f"{actor} freed the model name {model}{why}"
    if action == "card.updated":
        return f"{actor} {'wrote' if payload.get('previous') is None else 'edited'} the card of {ref}"
    shown = ", ".join(f"{k}={v:.4g}" for k, v in list((payload.get("metrics") or {}).items())[:3])
    verb = "logged metrics for" if payload.get("source") == "logged" else "evaluated"
    return f"{actor} {verb} {ref} on {payload.get('dataset')}" + (f" ({shown})" if shown else "")


def _retired_text(row) -> str:
    who = f"{row['time']} by {row['actor']}" + (f": {row['reason']}" if row["reason"] else "")
    if row["status"] == "renamed":
        if row["current"]:
            return f"was renamed to {row['current']!r} ({who})"
        return f"was renamed to {row['successor']!r} ({who}), which has since been deleted"
    return f"was deleted ({who})"


def _clean_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text, not {type(value).__name__}")
    return check_text(value, what, max_chars=DEFAULT_LIMITS.description_chars).strip() or None


def revert_authors(version) -> list[str]:
    """Authors of a version's artifact besides its own author (a revert's original authors)."""
    link = (getattr(version, "lineage", None) or {}).get("revert_of")
    if not isinstance(link, dict):
        return []
    return [a for a in link.get("authors") or [] if isinstance(a, str)]


def revert_authors_counted(version) -> bool:
    """False when some earlier author of a revert's artifact was not a verified identity."""
    link = (getattr(version, "lineage", None) or {}).get("revert_of")
    return not isinstance(link, dict) or link.get("all_counted", True) is not False


def previous_values(conn, store, table: str, owner_col: str, owner_id: int, description: str | None,
                    tags: dict, current_description: str) -> dict:
    """What an edit replaces: the old description and the old value (or ``None``) of each tag set."""
    out: dict = {}
    if description is not None:
        out["description"] = current_description
    if tags:
        assert table in ("model_tags", "version_tags") and owner_col in ("model_id", "version_id")
        keys = list(tags)
        found = dict(conn.execute(f"SELECT key, value FROM {table} WHERE {owner_col} = ? AND key IN"
                                  f" ({','.join('?' * len(keys))})", [owner_id, *keys]).fetchall())
        out["tags"] = {k: found.get(k) for k in keys}
    return out
