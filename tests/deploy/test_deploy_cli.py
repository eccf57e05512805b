"""The deployment verbs of the CLI: serve (a real subprocess), export, import, webhooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import requests

from nbregistry.cli import main
from webhook_receiver import Receiver


def run(capsys, *argv):
    code = main([*argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_serve_subprocess_answers_and_stops_on_sigterm(local_reg, iris, iris_model, tmp_path):
    X, _ = iris
    local_reg.register(iris_model, "churn", input_example=X.head(2))
    local_reg.set_alias("churn:1", "production")
    env = dict(os.environ, NBREGISTRY_USER="server")
    proc = subprocess.Popen([sys.executable, "-m", "nbregistry.deploy.serve", "churn@production", "--root",
                             str(local_reg.root), "--port", "0", "--poll", "0.1"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "on http://" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "server exited early"
        url = line.split(" on ")[1].split()[0]
        assert requests.get(url + "/version", timeout=5).json()["version"] == 1
        r = requests.post(url + "/invocations", json={"dataframe_records": X.head(3).to_dict(orient="records")},
                          timeout=30)
        assert r.json()["predictions"] == iris_model.predict(X.head(3)).tolist()
    finally:
        proc.send_signal(signal.SIGTERM)  # what `docker stop` sends
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_serve_refuses_unknown_refs_and_untrusted_pickles(local_reg, iris_model, capsys):
    code, _, err = run(capsys, "--root", str(local_reg.root), "serve", "nope@production", "--port", "0")
    assert code == 1 and "no model named 'nope'" in err
    local_reg.register(iris_model, "legacy", flavor="pickle")
    os.environ["NBREGISTRY_USER"], saved = "someone-else", os.environ.get("NBREGISTRY_USER")
    try:
        code, _, err = run(capsys, "--root", str(local_reg.root), "serve", "legacy", "--port", "0")
    finally:
        os.environ["NBREGISTRY_USER"] = saved
    assert code == 1 and "trust" in err
    code, _, err = run(capsys, "--root", str(local_reg.root), "serve", "legacy", "--poll", "0")
    assert code == 2


def test_export_and_import_verbs(local_reg, iris_model, tmp_path, capsys):
    local_reg.register(iris_model, "churn")
    local_reg.set_alias("churn:1", "production")
    bundle = tmp_path / "reg.tar.gz"
    code, out, _ = run(capsys, "--root", str(local_reg.root), "export", str(bundle))
    assert code == 0 and "exported churn:1 as bundle" in out and bundle.is_file()
    target = tmp_path / "target"
    code, out, _ = run(capsys, "--root", str(target), "import", str(bundle))
    assert code == 0 and "imported from" in out and "churn:1" in out
    code, out, _ = run(capsys, "--root", str(target), "import", str(bundle), "--json")
    assert code == 0 and json.loads(out)["changed"] is False
    code, out, _ = run(capsys, "--root", str(target), "export", "churn@production", str(tmp_path / "m"),
                       "--format", "mlflow")
    assert code == 0 and (tmp_path / "m" / "MLmodel").is_file()
    code, out, _ = run(capsys, "--root", str(target), "export", "churn:1", str(tmp_path / "d"), "--format", "docker")
    assert code == 0 and (tmp_path / "d" / "Dockerfile").is_file()
    code, _, err = run(capsys, "--root", str(target), "import")
    assert code == 2 and "either a bundle FILE or --from-mlflow" in err
    code, _, err = run(capsys, "--root", str(target), "export", str(tmp_path / "x"), "--format", "mlflow")
    assert code == 2 and "one version" in err


def test_webhooks_verbs(local_reg, iris_model, capsys, monkeypatch):
    monkeypatch.setenv("NBREGISTRY_WEBHOOK_ALLOW", "127.0.0.1/32")  # the receiver is on loopback: opt in
    receiver = Receiver(secret="c" * 32)
    root = str(local_reg.root)
    try:
        code, out, _ = run(capsys, "--root", root, "webhooks", "add", receiver.url, "--events", "alias.*",
                           "--secret", "c" * 32, "--json")
        hook = json.loads(out)
        assert code == 0 and hook["secret"] == "c" * 32 and hook["events"] == "alias.*"
        code, out, _ = run(capsys, "--root", root, "webhooks", "list")
        assert code == 0 and receiver.url in out and "c" * 32 not in out
        code, out, _ = run(capsys, "--root", root, "webhooks", "test", str(hook["id"]))
        assert code == 0 and "webhook.test" in out and "delivered" in out and "HTTP 200" in out
        assert receiver.requests[0]["signature_ok"]
        code, out, _ = run(capsys, "--root", root, "webhooks", "deliveries", "--json")
        assert code == 0 and json.loads(out)[0]["log"][0]["status_code"] == 200
        code, _, err = run(capsys, "--root", root, "webhooks", "test", "99")
        assert code == 1 and "no webhook #99" in err
        code, out, _ = run(capsys, "--root", root, "webhooks", "remove", str(hook["id"]))
        assert code == 0 and local_reg.list_webhooks() == []
        receiver.statuses = [500]
        code, out, _ = run(capsys, "--root", root, "webhooks", "add", receiver.url)
        new_id = int(out.split("#")[1].split(":")[0])
        code, out, _ = run(capsys, "--root", root, "webhooks", "test", str(new_id))
        assert code == 1 and "HTTP 500" in out and "pending" in out
    finally:
        receiver.close()


def test_export_takes_options_between_ref_and_destination(local_reg, iris_model, tmp_path, capsys):
    """The documented order, `export churn:3 --format mlflow DIR`, not only options at the end."""
    local_reg.register(iris_model, "churn")
    code, _, err = run(capsys, "--root", str(local_reg.root), "export", "churn:1", "--format", "mlflow",
                       str(tmp_path / "m"))
    assert code == 0, err
    assert (tmp_path / "m" / "MLmodel").is_file()
    code, _, err = run(capsys, "--root", str(local_reg.root), "export", "--format", "bundle", str(tmp_path / "b.tar"))
    assert code == 0 and (tmp_path / "b.tar").is_file()
    code, _, err = run(capsys, "--root", str(local_reg.root), "export", "churn:1", str(tmp_path / "x"), "extra")
    assert code == 2 and "export takes [REF] DEST" in err
    code, _, err = run(capsys, "--root", str(local_reg.root), "ls", "stray")
    assert code == 2 and "unrecognized arguments: stray" in err
