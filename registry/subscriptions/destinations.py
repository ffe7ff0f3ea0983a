"""Where webhooks may go: the allow-list (``CHEMTRACE_WEBHOOK_ALLOWED``) against SSRF.

A rule is ``scheme://host-pattern`` (``https://*``, ``https://*.example.org``) or
``scheme://network`` (``http://127.0.0.1/8``, ``https://10.1.0.0/16``). A host pattern
allows only public addresses: loopback, link-local, private, reserved and multicast ones
are refused unless a network rule names them. A URL is checked when a subscription is
made and again, after DNS resolution, before every delivery; the delivery then connects
to the address that was checked (no second lookup to rebind) and follows no redirect.
"""

from __future__ import annotations

import fnmatch
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from registry.errors import InvalidInput, message

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SCHEMES = ("http", "https")
DEFAULT_ALLOWED = "https://*"


class DestinationRefused(InvalidInput):
    def __init__(self, detail: str) -> None:
        super().__init__("dest", detail, "webhook_destination_refused")


@dataclass(frozen=True)
class Rule:
    scheme: str
    host_pattern: str | None = None
    network: Network | None = None

    def allows(self, scheme: str, host: str, addresses: list[Address]) -> bool:
        if scheme != self.scheme:
            return False
        if self.network is not None:
            return all(a in self.network for a in addresses)
        return fnmatch.fnmatchcase(host, self.host_pattern or "") and all(
            a.is_global and not a.is_multicast for a in addresses
        )


def parse_rules(text: str) -> list[Rule]:
    """The rules in a comma-separated setting; ``ValueError`` naming a bad one."""
    rules = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        scheme, sep, rest = item.partition("://")
        if not sep or scheme not in SCHEMES or not rest:
            raise ValueError(f"not a webhook rule (scheme://host or scheme://network): {item!r}")
        try:
            rules.append(Rule(scheme, network=ipaddress.ip_network(rest, strict=False)))
        except ValueError:
            if "/" in rest:
                raise ValueError(f"not a host pattern or network: {item!r}") from None
            rules.append(Rule(scheme, host_pattern=rest.lower()))
    return rules


@dataclass(frozen=True)
class Target:
    """A checked destination: what to connect to, and what to say and verify."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def _split(url: str) -> tuple[str, str, int, str]:
    if any(c <= " " or c == "\x7f" for c in url):  # what no request line may carry
        raise DestinationRefused(message("The webhook URL is not a valid URL."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused(message("The webhook URL is not a valid URL.")) from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise DestinationRefused(message("The webhook URL must be an http or https URL."))
    if parts.username or parts.password:
        raise DestinationRefused(message("The webhook URL must not carry a user or password."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (
        parts.scheme,
        parts.hostname.lower(),
        port or (443 if parts.scheme == "https" else 80),
        path,
    )


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise DestinationRefused(
            message("The webhook host {host} cannot be resolved.", host=host)
        ) from None
    # A scoped IPv6 address ("fe80::1%eth0") keeps its zone out of the comparison.
    return sorted({ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found}, key=str)


def check(url: str, rules: list[Rule]) -> Target:
    """The destination of ``url`` if the rules allow every address it resolves to."""
    scheme, host, port, path = _split(url)
    addresses = _resolve(host, port)
    if not addresses or not any(r.allows(scheme, host, addresses) for r in rules):
        raise DestinationRefused(
            message(
                "The webhook URL's host {host} is not allowed (CHEMTRACE_WEBHOOK_ALLOWED).",
                host=host,
            )
        )
    return Target(scheme, host, port, str(addresses[0]), path)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate verified for the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.address, target.port, timeout=timeout)
        self._server_name = target.host

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(sock, server_hostname=self._server_name)


def post(target: Target, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST ``body`` to the checked address; the status (redirects are not followed)."""
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPS(target, timeout)
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    try:
        default_port = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={"Host": host, "Content-Type": "application/json", **headers},
        )
        response = connection.getresponse()
        response.read(65536)  # what the receiver says is not kept; the status is enough
        return response.status
    finally:
        connection.close()
