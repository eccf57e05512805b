"""Registering from a URI: https/http served on loopback, S3 against moto's server on loopback,
fsspec (memory://), MLflow models:/ and runs:/ against a local sqlite tracking store."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from nbregistry.core.errors import ValidationError
from nbregistry.core.sources import is_uri, redact

PAYLOAD = b"model weights \x00\x01" * 5000


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    seen_auth: list = []

    def do_GET(self):
        self.seen_auth.append(self.headers.get("Authorization"))
        body = self.files.get(self.path.partition("?")[0])
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"v1"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.files = {"/models/model.bin": PAYLOAD}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_register_from_an_http_url_stores_the_content_and_records_the_source(reg, web):
    url = f"{web}/models/model.bin?X-Amz-Signature=secret123&download=1"
    version = reg.register(url.replace("http://", "http://alice:hunter2@"), "from-web", metrics={"auc": 0.9})
    assert version.flavor == "file"
    files = version.artifact["files"]
    assert [f["path"] for f in files] == ["model.bin"]
    assert files[0]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest() and files[0]["size"] == len(PAYLOAD)
    assert _Handler.seen_auth[-1].startswith("Basic ")  # credentials in the URL are sent...
    source = reg.get(version.ref).lineage["source"]
    assert source["uri"] == f"{web}/models/model.bin?X-Amz-Signature=REDACTED&download=1"  # ...never recorded
    assert "hunter2" not in str(reg.get(version.ref).lineage) and "secret123" not in str(reg.get(version.ref).lineage)
    assert source["scheme"] == "http" and source["etag"] == '"v1"'
    path = reg.load(version.ref)
    assert path.read_bytes() == PAYLOAD
    again = reg.register(f"{web}/models/model.bin", "from-web")
    assert again.deduplicated  # same content, stored once


def test_unreachable_and_missing_urls_are_one_line_errors_and_store_nothing(local_reg, web):
    with pytest.raises(ValidationError, match=r"cannot fetch .*/nope\.bin: HTTP 404") as info:
        local_reg.register(f"{web}/nope.bin", "missing")
    assert "\n" not in str(info.value)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(ValidationError, match="cannot reach 127.0.0.1"):
        local_reg.register(f"http://127.0.0.1:{closed_port}/model.bin", "missing")
    assert local_reg.list_models().total == 0
    assert not list(local_reg.objects.iter_blobs())


def test_https_urls_are_fetched_over_tls(local_reg, tmp_path):
    """An https:// server on loopback with a self-made certificate the client is told to trust."""
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _Handler.files = {"/models/model.bin": PAYLOAD}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/models/model.bin"
    try:
        with pytest.raises(ValidationError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            local_reg.register(url, "tls")  # an untrusted certificate is refused
        import os

        os.environ["SSL_CERT_FILE"] = str(cert)
        try:
            version = local_reg.register(url, "tls")
        finally:
            del os.environ["SSL_CERT_FILE"]
        assert local_reg.load(version.ref).read_bytes() == PAYLOAD
        assert local_reg.get(version.ref).lineage["source"]["uri"] == url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on a loopback port, with the AWS environment pointing at it."""
    import os

    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = boto3.client("s3")
    client.create_bucket(Bucket="models")
    client.put_object(Bucket="models", Key="churn/model.bin", Body=PAYLOAD)
    client.put_object(Bucket="models", Key="bert/config.json", Body=b'{"a": 1}')
    client.put_object(Bucket="models", Key="bert/sub/weights.safetensors", Body=b"w" * 100)
    yield client
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_register_from_an_s3_key_and_prefix(reg, s3):
    version = reg.register("s3://models/churn/model.bin", "from-s3")
    assert [f["path"] for f in version.artifact["files"]] == ["model.bin"]
    assert version.artifact["files"][0]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    source = reg.get(version.ref).lineage["source"]
    assert source["uri"] == "s3://models/churn/model.bin" and source["etag"]
    folder = reg.register("s3://models/bert/", "bert-files")
    assert sorted(f["path"] for f in folder.artifact["files"]) == ["config.json", "sub/weights.safetensors"]
    loaded = reg.load(folder.ref)
    assert (loaded / "sub" / "weights.safetensors").read_bytes() == b"w" * 100
    assert reg.get(folder.ref).lineage["source"]["files"] == 2


def test_s3_errors_name_the_uri_and_the_cause(local_reg, s3, monkeypatch):
    with pytest.raises(ValidationError, match="nothing found at s3://models/nope"):
        local_reg.register("s3://models/nope", "x")
    with pytest.raises(ValidationError, match="cannot fetch s3://no-such-bucket/k: no such bucket"):
        local_reg.register("s3://no-such-bucket/k", "x")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ValidationError, match="no AWS credentials"):
        local_reg.register("s3://models/churn/model.bin", "x")
    assert local_reg.list_models().total == 0


def test_other_fsspec_protocols_and_missing_packages(local_reg):
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/exported/model.onnx", PAYLOAD)
    version = local_reg.register("memory://exported/model.onnx", "from-fsspec")
    assert local_reg.load(version.ref).read_bytes() == PAYLOAD
    with pytest.raises(ValidationError, match=r"^registering gs:// URIs needs gcsfs \(pip install gcsfs\)$"):
        local_reg.register("gs://bucket/model.bin", "x")
    with pytest.raises(ValidationError, match="not found"):
        local_reg.register("memory://exported/missing.bin", "x")


def test_uri_detection_and_redaction():
    assert is_uri("https://h/x") and is_uri("s3://b/k") and is_uri("models:/churn/1") and is_uri("runs:/abc/model")
    assert is_uri("hf://org/repo/model.safetensors") and is_uri("gs://b/k")
    assert not is_uri("model.pkl") and not is_uri("C:/models/x.bin") and not is_uri("file:///tmp/x")
    assert not is_uri("notascheme://x")
    assert redact("https://u:p@h/x?token=abc&v=2") == "https://h/x?token=REDACTED&v=2"


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    import mlflow

    base = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{base / 'mlflow.db'}"
    saved = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(uri, uri)
    experiment = client.create_experiment("exp", artifact_location=str(base / "artifacts"))
    model_dir = base / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "weights.bin").write_bytes(PAYLOAD)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{run.info.run_id}/model", run.info.run_id)
    yield run.info.run_id
    mlflow.set_tracking_uri(saved[0])
    mlflow.set_registry_uri(saved[1])


def test_register_from_mlflow_runs_and_models_uris(local_reg, mlflow_store):
    by_run = local_reg.register(f"runs:/{mlflow_store}/model", "from-run")
    assert sorted(f["path"] for f in by_run.artifact["files"]) == ["MLmodel", "weights.bin"]
    by_model = local_reg.register("models:/churn/1", "from-model")
    weights = {f["path"]: f["sha256"] for f in by_model.artifact["files"]}
    assert "MLmodel" in weights and weights["weights.bin"] == hashlib.sha256(PAYLOAD).hexdigest()
    source = local_reg.get(by_model.ref).lineage["source"]
    assert source["uri"] == "models:/churn/1" and source["scheme"] == "models"
    with pytest.raises(ValidationError, match="cannot fetch models:/churn/9 from MLflow"):
        local_reg.register("models:/churn/9", "x")


def test_progress_is_reported_while_a_url_streams_in(local_reg, web):
    seen = []
    local_reg.register(f"{web}/models/model.bin", "progress", progress=seen.append)
    assert sum(seen) >= len(PAYLOAD)
