"""Malformed, huge and slow clients against a real 2-worker `nbregistry serve`: each is answered or
closed within its limit, memory stays bounded, and the server keeps answering everyone else."""

from __future__ import annotations

import socket
import time

import pytest

from nbregistry import Registry
from serve_helpers import CliServer, raw_connection, read_until_closed, status_of

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
MAX_BODY = 100_000
MAX_CONNECTIONS = 20
# A socket timeout well above the server's own: reaching it means the server never closed the connection.
CLIENT_TIMEOUT = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory, iris, iris_model):
    X, _ = iris
    root = tmp_path_factory.mktemp("serve-limits") / "registry"
    reg = Registry(root, author="alice")
    reg.register(iris_model, "churn", input_example=X.head(3))
    reg.close()
    srv = CliServer(root, "churn", "--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", str(BODY_TIMEOUT),
                    "--max-body", str(MAX_BODY), "--max-connections", str(MAX_CONNECTIONS), workers=2,
                    log=tmp_path_factory.mktemp("log") / "serve.log")
    srv.body = ('{"dataframe_records": %s}' % X.head(2).to_json(orient="records")).encode()
    yield srv
    assert srv.stop() == 0


def request_head(length: str | None, *, extra: str = "") -> bytes:
    head = "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return (head + extra + "\r\n").encode()


def still_serving(server):
    r = server.post("/invocations", data=server.body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


def test_negative_content_length_is_a_400_at_once(server):
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head("-1"))
        answer = read_until_closed(sock)  # answered and closed without waiting for any body
    assert status_of(answer) == 400
    assert b'"error_code": "BAD_REQUEST"' in answer and b"application/json" in answer
    still_serving(server)


def flood(sock, total: int) -> int:
    """Send up to ``total`` bytes of junk body; how many went out before the server hung up."""
    chunk = b"[" * (64 * 1024)
    sent = 0
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_negative_content_length_with_a_flood_behind_it_keeps_memory_bounded(server):
    """The stdlib server's failure: ``Content-Length: -1`` made it buffer 512 MiB. Here the answer
    comes at once and the connection closes, so the bytes behind it are never read into memory."""
    rss_before = {pid: server.worker_rss(pid) for pid in server.pids}
    total = 512 * 1024 * 1024
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head("-1"))
        sent = flood(sock, total)
        try:
            answer = read_until_closed(sock)
        except (ConnectionResetError, socket.timeout):
            answer = b""
    assert sent < total  # the server hung up long before the flood ended
    assert answer == b"" or status_of(answer) == 400
    for pid, before in rss_before.items():
        assert server.worker_rss(pid) - before < 50 * 1024 * 1024  # nothing like the bytes sent was kept
    still_serving(server)


def test_a_missing_content_type_is_a_415_before_any_body(server):
    """Refused on the headers alone: a 408 (the body deadline) would mean the server waited for the body."""
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\n"
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(head)  # and no body at all
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - started
    assert status_of(answer) == 415 and b"Content-Type header is required" in answer
    assert waited < CLIENT_TIMEOUT
    still_serving(server)


def test_a_huge_content_length_is_a_413_before_any_body(server):
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head(str(50 * 1024**3)))  # claims 50 GiB, sends none
        answer = read_until_closed(sock)
    assert status_of(answer) == 413 and b"REQUEST_LIMIT_EXCEEDED" in answer
    still_serving(server)


def test_an_endless_chunked_body_stops_at_the_limit_with_bounded_memory(server):
    rss_before = {pid: server.worker_rss(pid) for pid in server.pids}
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head(None, extra="Transfer-Encoding: chunked\r\n"))
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"[" * (64 * 1024))
        sent = 0
        try:
            while sent < 200 * 1024 * 1024:  # far more than the limit, if the server kept reading
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = read_until_closed(sock)
        except (ConnectionResetError, socket.timeout):
            answer = b""
    assert sent < 200 * 1024 * 1024  # the server hung up long before
    assert answer == b"" or status_of(answer) == 413
    for pid, before in rss_before.items():
        assert server.worker_rss(pid) - before < 50 * 1024 * 1024  # nothing like the bytes sent was kept
    still_serving(server)


def test_a_missing_length_means_an_empty_body(server):
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head(None) + server.body)  # a body without a length is not a body
        answer = read_until_closed(sock)
    assert status_of(answer) == 400 and b"the body is empty" in answer
    still_serving(server)


def test_a_silent_client_is_closed_after_the_header_timeout(server):
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""  # closed by the server, not by our socket timeout
        assert time.monotonic() - started < CLIENT_TIMEOUT


def test_slowloris_headers_are_cut_off_at_the_header_deadline(server):
    head = request_head("10")
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        started = time.monotonic()
        closed = False
        for byte in head[:-2]:  # one byte every 0.25 s: each is new data, the deadline holds anyway
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.25)
            if time.monotonic() - started > HEADER_TIMEOUT * 4:
                break
        if not closed:
            try:
                closed = read_until_closed(sock) == b""
            except ConnectionResetError:
                closed = True
        assert closed
        assert time.monotonic() - started < HEADER_TIMEOUT * 4  # well before the headers could finish


def test_a_stalled_body_gets_a_408(server):
    with raw_connection(server.url, CLIENT_TIMEOUT) as sock:
        sock.sendall(request_head("1000") + b'{"datafr')  # then nothing more
        answer = read_until_closed(sock)
    assert status_of(answer) == 408 and b"did not arrive within" in answer
    still_serving(server)


def test_connections_past_the_cap_are_closed_and_the_server_recovers(server):
    socks = []
    try:
        for _ in range(MAX_CONNECTIONS * 2 + 20):  # more than both workers together may hold
            socks.append(raw_connection(server.url, CLIENT_TIMEOUT))
        for s in socks:
            s.settimeout(HEADER_TIMEOUT / 4)
        closed_at_once = 0
        for s in socks:
            try:
                if s.recv(1) == b"":
                    closed_at_once += 1
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_at_once += 1
        assert closed_at_once >= 20
    finally:
        for s in socks:
            s.close()
    still_serving(server)
