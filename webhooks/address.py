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
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings
from django.utils.translation import gettext
from yarl import URL

MAX_URL = 2000
ALLOWED_PORTS = {443, 8443}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A URL or address a hook may not use; the message says why."""


def forbidden(address: Address) -> str | None:
    """Why a request may not go to this address, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return forbidden(embedded)
        if address.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
            return gettext("a private or reserved address")
    if address.is_loopback:
        return gettext("a loopback address")
    if address.is_link_local:
        return gettext("a link-local address (cloud metadata lives there)")
    if address.is_private or address.is_reserved or address.is_unspecified:
        return gettext("a private or reserved address")
    if address.is_multicast or not address.is_global:
        return gettext("not a public address")
    return None


@dataclass(frozen=True)
class Target:
    """Where a hook's URL sends a request: what the check and the connection use."""

    scheme: str
    host: str  # as the connection names it: IDNA-encoded, no brackets
    port: int


def target_of(url: str) -> Target:
    """Raise Refused unless `url` is one a hook may have: https (http too when
    private targets are allowed), a host, no credentials, at most MAX_URL
    characters, a port of ALLOWED_PORTS (any when private targets are
    allowed: a scan of the server's own network is what this stops)."""
    if len(url) > MAX_URL:
        raise Refused(gettext("At most %(most)d characters.") % {"most": MAX_URL})
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused(gettext("A URL may not contain spaces or control characters."))
    allow_private = settings.NEXUS_WEBHOOK_ALLOW_PRIVATE
    try:
        # yarl, as aiohttp itself parses it: the same host for the check and the connection.
        parsed = URL(url)
        host, port = parsed.raw_host, parsed.port
    except (ValueError, UnicodeError) as exc:
        raise Refused(gettext("Is not a URL with a valid host and port.")) from exc
    if parsed.scheme not in ({"http", "https"} if allow_private else {"https"}):
        raise Refused(gettext("Must start with https://."))
    if not host:
        raise Refused(gettext("Must name a host."))
    if parsed.user is not None or parsed.password is not None:
        raise Refused(gettext("May not carry a user name or password."))
    if port is None or not 0 < port < 65536:
        raise Refused(gettext("Has an invalid port."))
    if not allow_private and port not in ALLOWED_PORTS:
        *ports, last = sorted(ALLOWED_PORTS)
        text = gettext("Must use port %(ports)s or %(last)s.")
        raise Refused(text % {"ports": ", ".join(map(str, ports)), "last": last})
    return Target(parsed.scheme, host, port)


def check_url(url: str) -> None:
    """Refused unless `url` may be a hook's, resolving to public addresses only."""
    target = target_of(url)
    addresses_check(target.host, target.port)


def addresses_check(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, all of them allowed, or Refused.
    The message names the host the owner gave, never the address found
    (that would map the server's private network for them)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(gettext("%(host)s does not resolve.") % {"host": host}) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not settings.NEXUS_WEBHOOK_ALLOW_PRIVATE:
        for text in addresses:
            reason = forbidden(ipaddress.ip_address(text.split("%")[0]))
            if reason:
                raise Refused(
                    gettext("%(host)s resolves to %(reason)s.") % {"host": host, "reason": reason}
                )
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
