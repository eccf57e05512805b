"""Attack: webhooks as a way into the server's network (SSRF). A subscriber URL that reaches loopback,
link-local or private addresses, in any spelling or through DNS, is refused when it is registered and
again when each delivery is sent (the DNS answer may have changed), unless the registry's
``webhook_networks`` setting allows that network. Only http(s). Public addresses stay allowed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from helpers import cli_runner
from nbregistry import Registry
from nbregistry.core.errors import ValidationError
from webhook_receiver import Receiver


@pytest.fixture
def rec():
    receiver = Receiver(secret="s" * 32)
    yield receiver
    receiver.close()


SPELLINGS = [
    "127.0.0.1", "2130706433", "0x7f000001", "0x7f.0x0.0x0.0x1", "0177.0.0.1", "017700000001", "127.1", "127.0.1",
    "localhost", "LOCALHOST.", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]",
]


@pytest.mark.parametrize("host", SPELLINGS)
def test_loopback_in_every_spelling_is_refused_at_registration(local_reg, rec, iris_model, host):
    url = f"http://{host}:{rec.port}/hook"
    with pytest.raises(ValidationError, match="webhook") as err:
        local_reg.add_webhook(url, secret="s" * 32)  # before the fix: accepted, and delivered below
    assert "\n" not in str(err.value)
    local_reg.register(iris_model, "churn")
    local_reg.deliver_webhooks()
    time.sleep(0.2)
    assert rec.requests == [] and local_reg.list_webhooks() == []


@pytest.mark.parametrize("url", [
    "http://0.0.0.0/", "http://0/", "http://[::]/", "http://10.0.0.1/", "http://10.255.255.255:8080/x",
    "http://172.16.0.1/", "http://172.31.1.1/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/", "http://[fd00::1]/", "http://100.64.0.1/", "http://[fc00::1]/", "http://224.0.0.1/",
    "http://255.255.255.255/", "https://[::ffff:10.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/",
    "http://[fec0::1]/", "http://0xa9.0xfe.0xa9.0xfe/",
])
def test_private_link_local_and_special_addresses_are_refused(local_reg, url):
    with pytest.raises(ValidationError, match="webhook"):
        local_reg.add_webhook(url)
    assert local_reg.list_webhooks() == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/x",
                                 "http:///nohost", "dict://127.0.0.1:11211/", "javascript:alert(1)",
                                 "http://example.com:99999/", "http://exa mple.com/"])
def test_only_http_and_https_urls_with_a_host(local_reg, url):
    with pytest.raises(ValidationError, match="webhook"):
        local_reg.add_webhook(url)


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "https://8.8.8.8:8443/x",
                                 "https://[2606:4700:4700::1111]/hook"])
def test_public_addresses_stay_allowed(local_reg, url):
    local_reg.store.on_events_committed = None  # no delivery attempt to the internet from a test
    assert local_reg.add_webhook(url).url == url


def test_the_setting_allows_a_network_explicitly(local_reg, rec, iris_model):
    local_reg.webhook_networks = ["127.0.0.0/8"]
    hook = local_reg.add_webhook(rec.url, secret="s" * 32)
    assert local_reg.test_webhook(hook.id).status == "delivered" and rec.requests[0]["signature_ok"]
    with pytest.raises(ValidationError, match="webhook"):  # the allowance is exactly that network
        local_reg.add_webhook("http://[::1]/hook")
    with pytest.raises(ValidationError, match="webhook_networks"):
        local_reg.webhook_networks = ["not-a-network"]


def test_a_stored_loopback_url_is_refused_again_at_delivery(local_reg, rec, iris_model):
    """A subscription accepted earlier (an older nbregistry, or a network allowed then and not any
    more) is checked again by the dispatcher before every attempt."""
    allowed = Registry(local_reg.root, author="ops")
    allowed.webhook_networks = ["127.0.0.0/8"]
    allowed.store.on_events_committed = None
    allowed.add_webhook(rec.url, secret="s" * 32)
    local_reg.store.on_events_committed = None
    local_reg.register(iris_model, "churn")
    local_reg.deliver_webhooks()  # this registry does not allow loopback
    time.sleep(0.2)
    assert rec.requests == []
    [delivery] = [d for d in local_reg.webhook_deliveries() if d.action == "model.created"]
    assert delivery.status == "failed" and "loopback" in delivery.log[0]["error"]
    allowed.close()


def test_dns_rebinding_between_registration_and_delivery_is_refused(local_reg, rec, iris_model, monkeypatch):
    """The name resolves to a public address when registered and to loopback when delivered: the
    dispatcher resolves again, checks what it got, and connects only to the address it checked."""
    real = socket.getaddrinfo
    answers = {"public": True}

    def rebinding_dns(host, port, *args, **kwargs):
        if host == "rebind.example":
            ip = "93.184.216.34" if answers["public"] else "127.0.0.1"
            return real(ip, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    local_reg.store.on_events_committed = None
    local_reg.add_webhook(f"http://rebind.example:{rec.port}/hook", secret="s" * 32)
    answers["public"] = False
    local_reg.register(iris_model, "churn")
    local_reg.deliver_webhooks()
    time.sleep(0.2)
    assert rec.requests == []
    errors = [a["error"] for d in local_reg.webhook_deliveries() for a in d.log]
    assert errors and all("127.0.0.1" in e for e in errors)


def test_the_cli_refuses_with_one_line_and_the_env_var_opts_in(local_reg, rec, capsys, monkeypatch):
    run = cli_runner(local_reg.root, capsys)
    code, out, err = run("webhooks", "add", f"http://2130706433:{rec.port}/hook")
    assert code == 2 and "webhook" in err and len(err.strip().splitlines()) == 1, err
    monkeypatch.setenv("NBREGISTRY_WEBHOOK_ALLOW", "127.0.0.0/8")
    assert run("webhooks", "add", rec.url, "--secret", "s" * 32)[0] == 0
    proc = subprocess.run([sys.executable, "-m", "nbregistry.cli", "--root", str(local_reg.root), "webhooks", "test",
                           "1"], env={**os.environ, "NBREGISTRY_WEBHOOK_ALLOW": ""}, capture_output=True, text=True)
    assert proc.returncode != 0 and "loopback" in proc.stdout + proc.stderr and rec.requests == []
