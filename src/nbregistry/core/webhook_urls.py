"""Which addresses a webhook may reach, and sending to an address only after checking it.

A webhook makes the registry's process (a team server, a kernel, ``nbregistry webhooks run``) send
requests to a URL somebody typed. Left alone that is a way into the machine's own network: the
cloud metadata service at 169.254.169.254, an admin port on 127.0.0.1, a database on 10.x. So a
subscriber URL must be ``http(s)`` and every address its host resolves to must be public, unless it
lies in a network the registry's ``webhook_networks`` setting allows (``Registry.webhook_networks``,
default from ``NBREGISTRY_WEBHOOK_ALLOW``, comma-separated CIDRs such as ``10.1.0.0/16,127.0.0.1/32``).

The host is judged by what it resolves to, not by how it is written, so ``2130706433``,
``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]`` and ``localhost`` are all the
loopback address they name; IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64) are judged
by that IPv4 address. The check runs when a webhook is added and again before every delivery, and
the delivery connects to exactly the addresses that were checked (DNS rebinding gets nowhere).
Redirects are not followed and proxy settings are not used.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ValidationError

ALLOW_ENV = "NBREGISTRY_WEBHOOK_ALLOW"
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SITE_LOCAL = ipaddress.ip_network("fec0::/10")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec) -> tuple[Network, ...]:
    """``"10.0.0.0/8, ::1/128"`` or an iterable of CIDRs -> networks; a bad one is a ValidationError."""
    items = spec.split(",") if isinstance(spec, str) else list(spec or ())
    out = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValidationError(f"webhook_networks: {text!r} is not a network (use CIDRs such as 10.0.0.0/8)") from None
    return tuple(out)


def default_networks() -> tuple[Network, ...]:
    return parse_networks(os.environ.get(ALLOW_ENV, ""))


def why_not_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """``None`` for a public unicast address, else what it is (``"loopback"``, ``"private"``, ...)."""
    if addr.version == 6:
        embedded = addr.ipv4_mapped or addr.sixtofour or (
            ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF) if addr in NAT64 else None)
        if embedded is not None:
            return why_not_public(embedded)
        if addr in SITE_LOCAL:
            return "site-local"
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(addr, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if addr.is_global else "not public"


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (``addresses``) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple  # getaddrinfo entries (family, sockaddr) that passed the check


def parse_url(url) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path)`` of an http(s) URL with a host; a ValidationError otherwise."""
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationError(f"webhook url must be an http(s) URL, not {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"webhook url {url!r} is malformed ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"webhook url must be an http(s) URL with a host, not {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_url(url: str, allowed: tuple[Network, ...] = ()) -> Target:
    """Resolve ``url``'s host and check every address; a ValidationError names the first refused one."""
    scheme, host, port, path = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise ValidationError(f"webhook url {url!r}: cannot resolve {host!r} ({exc})") from None
    addresses = []
    for family, _, _, _, sockaddr in infos:
        addr = ipaddress.ip_address(sockaddr[0].split("%")[0])
        why = why_not_public(addr)
        if why is not None and not any(addr.version == net.version and addr in net for net in allowed):
            raise ValidationError(
                f"webhook url {url!r} reaches {addr}, a {why} address: webhooks go to public addresses only, "
                f"unless the registry's webhook_networks setting ({ALLOW_ENV}) allows that network")
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise ValidationError(f"webhook url {url!r}: {host!r} resolves to no address")
    return Target(scheme, host, port, path, tuple(addresses))


def post(url: str, body: bytes, headers: dict, *, allowed: tuple[Network, ...], timeout: float) -> tuple[int, str]:
    """POST ``body`` to ``url`` after checking it (:func:`check_url`), connecting only to a checked
    address (TLS still verifies the host's certificate). Returns ``(status, reason)``; raises
    ValidationError when refused, OSError/HTTPException on network trouble."""
    target = check_url(url, allowed)

    def connect(address, timeout_=timeout, source_address=None):
        error: OSError | None = None
        for family, sockaddr in target.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error or OSError("no address to connect to")

    if target.scheme == "https":
        import ssl

        conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    conn._create_connection = connect  # the one hook http.client offers for choosing the socket
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status, response.reason
    finally:
        conn.close()
