"""The JupyterLab panel's live refresh with replicas: a user's Jupyter server forwards the panel's
REST calls to one replica (``NBRegistry.registry_url``), and the panel's polling of
``/events?since=latest`` then ``/events?since=<id>`` sees every write made through the others,
in order, without gaps (labextension/src/events.ts does exactly these two requests)."""

from __future__ import annotations

import json
import os

import pytest

from server.replicas import TESTED_BACKENDS, ReplicaSet, backend_for
from server.server_helpers import TOKENS

USERS = {"alice": TOKENS["alice"], "bob": f"bob-panel-{os.urandom(4).hex()}"}


@pytest.fixture(params=TESTED_BACKENDS)
def cluster(request, tmp_path):
    backend = backend_for(request.param, tmp_path / "cluster", request)
    with ReplicaSet(backend, 3, USERS) as replicas:
        yield replicas


@pytest.fixture
def jp_server_config(cluster, tmp_path):
    from server.server_helpers import server_config

    # alice's own Jupyter server; its panel talks to the team registry through replica 1
    return server_config(tmp_path / "unused", NBRegistry={"registry_url": cluster.urls[1],
                                                          "registry_token": USERS["alice"]})


async def test_the_panels_event_polling_through_one_replica_sees_writes_through_the_others(
        cluster, jp_fetch, tmp_path):
    async def events(**params) -> dict:
        response = await jp_fetch("nbregistry", "api", "events", params=params,
                                  headers={"Authorization": f"token {TOKENS['alice']}"})
        return json.loads(response.body)

    last_id = (await events(since="latest"))["last_id"]  # the panel starts from now ...
    path = tmp_path / "m.bin"
    path.write_bytes(b"panel")
    writers = [cluster.client(i, "bob") for i in (0, 2)]
    written = []
    for i in range(6):
        v = writers[i % 2].register(str(path), "watched", metrics={"i": i})
        written.append(v.version)
    writers[0].set_alias("watched:2", "production")
    seen = []
    while True:  # ... then pages after the newest id it has, as events.ts does
        answer = await events(since=last_id, limit=3)
        seen += answer["events"]
        if len(answer["events"]) < 3:
            break
        last_id = answer["last_id"]
    registered = [e["version"] for e in seen if e["action"] == "version.registered"]
    assert registered == written
    assert seen[-1]["action"].startswith("alias.") and seen[-1]["model"] == "watched"
    assert {e["actor"] for e in seen} == {"bob"}
    for w in writers:
        w.close()
