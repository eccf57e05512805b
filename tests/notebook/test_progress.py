"""Long operations show tqdm's bar; small ones stay quiet."""

from __future__ import annotations

import os

from nbhelpers import run

from nbregistry.notebook import progress
from nbregistry.notebook.progress import ByteProgress


def test_bar_opens_only_past_the_threshold_and_counts_every_byte(reg, tmp_path):
    blob = tmp_path / "weights.bin"
    blob.write_bytes(os.urandom(300_000))
    quiet = ByteProgress("small")
    with quiet:
        reg.register(blob, "weights", progress=quiet)
    assert quiet.bar is None and quiet.seen >= 300_000  # a remote registry counts its upload (tar headers too)
    loud = ByteProgress("big", total=300_000, threshold=1000)
    with loud:
        reg.load("weights:1", progress=loud)
    assert loud.bar is not None and loud.bar.n >= 300_000


def test_register_and_load_magics_show_a_bar_for_big_artifacts(shell, reg, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(progress, "DEFAULT_THRESHOLD", 1000)
    blob = tmp_path / "weights.bin"
    blob.write_bytes(os.urandom(200_000))
    shell.user_ns["path"] = str(blob)
    run(shell, "%register path --name weights")
    run(shell, "%registry load weights:1 as local_copy")
    err = capsys.readouterr().err
    assert "registering weights" in err and "loading weights:1" in err
    assert reg.get("weights:1").artifact["size"] == 200_000
