"""Refusing to fetch private, loopback, link-local and other non-public addresses.

The URL's host is resolved here and every address checked before any connection; the fetcher
then connects to the checked address itself (keeping the name for the Host header and TLS),
so DNS cannot answer differently between the check and the connection. Applied to every
request and every redirect hop. ``allow_private`` lifts the check; ``allow_networks`` lifts it
for named networks only (tests allow loopback this way).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from finpulse.errors import ConfigError, PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(PermanentError):
    """The URL points at an address the crawler must not reach."""


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is a globally routable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, allow_private: bool, networks: tuple[str, ...] | list[str] = ()) -> AddressPolicy:
        try:
            nets = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        except ValueError as exc:
            raise ConfigError(f"ingest.allow_networks: {exc}") from exc
        return cls(allow_private, nets)

    def permits(self, ip: IPAddress) -> bool:
        if self.allow_private or is_public(ip):
            return True
        return any(ip.version == net.version and ip in net for net in self.allow_networks)


def literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address DNS gives for ``host`` (raises ``OSError`` when it gives none)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def checked_address(url: str, policy: AddressPolicy) -> IPAddress | None:
    """The address to connect to for ``url``, after checking it; None when every address is
    allowed (the HTTP client may then resolve by itself). Raises ``BlockedAddress``."""
    if policy.allow_private:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    ips = [literal_ip(host)] if literal_ip(host) else None
    if ips is None:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ips = await resolve(host, port)
    for ip in ips:
        if not policy.permits(ip):
            raise BlockedAddress(f"{url}: refusing to fetch non-public address {ip} (host {host})")
    return min(ips, key=lambda ip: ip.version)  # IPv4 first: more servers listen there
