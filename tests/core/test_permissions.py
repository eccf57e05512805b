"""Roles: the role file (YAML and TOML say the same), grants per alias and per model glob, Hub scopes,
and refusals that name the role that would allow the action."""

from __future__ import annotations

import pytest

from nbregistry.core.errors import ValidationError
from nbregistry.core.permissions import ACTIONS, OPEN, Caller, grants_from_scopes, load_roles

YAML = """
roles:
  reader: [read]
  scientist: [read, register, comment, review, "promote:staging", "promote:dev-*"]
  release: [read, review, promote]
  churn-owners: {can: [edit, delete], models: ["churn*"]}
users: {carol: [churn-owners]}
groups: {ds: [scientist], rel: [release]}
default: [reader]
"""
TOML = """
default = ["reader"]
[roles]
reader = ["read"]
scientist = ["read", "register", "comment", "review", "promote:staging", "promote:dev-*"]
release = ["read", "review", "promote"]
[roles.churn-owners]
can = ["edit", "delete"]
models = ["churn*"]
[users]
carol = ["churn-owners"]
[groups]
ds = ["scientist"]
rel = ["release"]
"""


@pytest.fixture(params=["yaml", "toml"])
def roles(request, tmp_path):
    path = tmp_path / f"roles.{request.param}"
    path.write_text(YAML if request.param == "yaml" else TOML)
    return load_roles(path)


def test_yaml_and_toml_role_files_grant_the_same(roles):
    alice = Caller.of(roles, "alice", ["ds"])
    assert alice.roles == ("reader", "scientist")
    assert alice.may("promote", "churn", "staging") and alice.may("promote", "churn", "dev-2")
    assert not alice.may("promote", "churn", "production") and not alice.may("set_policy", "churn")
    bob = Caller.of(roles, "bob", ["rel"])
    assert bob.may("promote", "churn", "production") and not bob.may("register", "churn")
    carol = Caller.of(roles, "carol")
    assert carol.may("edit", "churn-v2") and carol.may("edit", "CHURN") and not carol.may("edit", "fraud")
    assert carol.may("read", "fraud")  # the default role
    assert alice.reason(roles, "promote", "churn", "production") == "needs role 'release'"
    assert Caller.of(roles, "x", hub=True).reason(roles, "promote", "churn", "production") == \
        "needs role 'release' (scope custom:nbregistry:promote:production)"


def test_no_role_file_lets_everyone_do_everything():
    anyone = Caller.of(OPEN, "zed")
    assert all(anyone.may(a, "m", "production") for a in ACTIONS)


def test_hub_scopes_grant_actions_and_aliases():
    grants = grants_from_scopes(["custom:nbregistry:read", "custom:nbregistry:promote:staging", "access:services",
                                 "custom:nbregistry:set_policy:production", "custom:other:admin"])
    assert [g.text() for g in grants] == ["read", "promote:staging"]
    hub = Caller(user="bob", grants=tuple(grants), hub=True)
    assert hub.may("promote", "churn", "staging") and not hub.may("promote", "churn", "production")
    summary = hub.summary(OPEN.__class__(), "churn", ["production"])
    assert summary["aliases"] == {"*": False, "production": False, "staging": True}
    assert summary["reasons"]["promote:production"] == "needs scope custom:nbregistry:promote:production"


@pytest.mark.parametrize("text,message", [
    ("roles: {r: [fly]}", "unknown action 'fly'"),
    ("roles: {r: ['read:staging']}", "only promote take an alias"),
    ("roles: {r: [read]}\nusers: {a: [boss]}", "undefined role 'boss'"),
    ("roles: {r: {can: [read], model: [x]}}", "unknown key(s) model"),
    ("rolez: {}", "unknown section(s) rolez"),
    ("roles: [", "not valid YAML"),
])
def test_mistakes_in_a_role_file_are_named(tmp_path, text, message):
    path = tmp_path / "roles.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError, match=None) as info:
        load_roles(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_a_missing_role_file_is_named(tmp_path):
    with pytest.raises(ValidationError, match="cannot read the role file"):
        load_roles(tmp_path / "nope.toml")
