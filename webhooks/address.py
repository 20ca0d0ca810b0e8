"""Where a webhook may point: the server-side request forgery guard.

A hook's URL is a request the server makes on a user's behalf, so it may not
reach what only the server can: loopback, private networks, link-local (the
clouds' metadata service at 169.254.169.254), carrier-grade NAT, multicast,
reserved ranges, or IPv6 forms that carry such an IPv4 address. The check
runs on the resolved addresses, when a hook is saved and again for every
attempt, and the request then connects to exactly the addresses checked
(PinnedResolver), so a name that resolves somewhere else later (DNS
rebinding) is caught. NEXUS_WEBHOOK_ALLOW_PRIVATE lifts it, and the
https-only rule, for development and tests.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings

MAX_URL = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A URL or address a hook may not use; the message says why."""


def forbidden(address: Address) -> str | None:
    """Why a request may not go to this address, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return forbidden(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private or address.is_reserved or address.is_unspecified:
        return "a private or reserved address"
    if address.is_multicast or not address.is_global:
        return "not a public address"
    return None


def check_url(url: str) -> None:
    """Raise Refused unless `url` is one a hook may have: http(s) with a host,
    https unless private targets are allowed, no credentials, at most
    MAX_URL characters, and resolving to public addresses only."""
    if len(url) > MAX_URL:
        raise Refused(f"At most {MAX_URL} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("A URL may not contain spaces or control characters.")
    parts = urlsplit(url)
    schemes = {"http", "https"} if settings.NEXUS_WEBHOOK_ALLOW_PRIVATE else {"https"}
    if parts.scheme not in schemes:
        raise Refused("Must start with https://.")
    if not parts.hostname:
        raise Refused("Must name a host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("May not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("Has an invalid port.") from exc
    addresses_check(parts.hostname, port)


def addresses_check(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, all of them allowed, or Refused."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not settings.NEXUS_WEBHOOK_ALLOW_PRIVATE:
        for text in addresses:
            reason = forbidden(ipaddress.ip_address(text.split("%")[0]))
            if reason:
                raise Refused(f"{host} resolves to {text}, {reason}.")
    return addresses


class PinnedResolver(AbstractResolver):
    """Hands aiohttp only the addresses addresses_check passed, so the
    connection goes where the check looked and nowhere else."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        self._host, self._addresses = host, addresses

    async def resolve(self, host: str, port: int = 0, family=socket.AF_INET) -> list[ResolveResult]:
        if host != self._host:  # only the hook's own host is ever asked for
            raise OSError(f"{host} is not this hook's host")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self._addresses
        ]

    async def close(self) -> None:
        pass
