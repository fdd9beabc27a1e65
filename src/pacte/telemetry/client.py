"""The visitor's address as the server can trust it, and the truncated form statistics may use.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy. Only then is ``X-Forwarded-For`` read, from the right:
each trusted proxy appends the address it received the request from, so the right-most entry that is not
a trusted proxy is the client; anything to its left was written by the client and may be forged. Without a
trusted ``REMOTE_ADDR`` the header is ignored, so a client cannot choose its own address.

Only :func:`truncate_ip` output (an IPv4 /24 or an IPv6 /48 network) may reach telemetry storage.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV4_PREFIX = 24
IPV6_PREFIX = 48
# Trusted proxy entries of X-Forwarded-For read from the right; a longer chain is not believable.
MAX_HOPS = 32
_IPV4_MASK = (2**32 - 1) ^ (2 ** (32 - IPV4_PREFIX) - 1)
_IPV6_MASK = (2**128 - 1) ^ (2 ** (128 - IPV6_PREFIX) - 1)
# Longer than any address with a port and brackets ("[ffff:...:ffff%zone]:65535").
_MAX_ENTRY = 64


def _parse(value: object) -> IPAddress | None:
    """Parse one address as a header or ``REMOTE_ADDR`` carries it; ``None`` if it is not one.

    Accepts ``192.0.2.1``, ``192.0.2.1:443``, ``2001:db8::1``, ``[2001:db8::1]`` and ``[2001:db8::1]:443``;
    drops an IPv6 zone (``%eth0``) and turns an IPv4-mapped IPv6 address into its IPv4 address.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_ENTRY:
        return None
    if text.startswith("["):
        text, bracket, _port = text[1:].partition("]")
        if not bracket:
            return None
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    text = text.partition("%")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=16)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse the trusted proxy networks (CIDR strings or single addresses); skip what does not parse."""
    networks: list[IPNetwork] = []
    for entry in trusted_proxies:
        try:
            network = ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            continue
        mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
        if mapped is not None and network.prefixlen >= 96:
            # "::ffff:10.0.0.0/104" names the same proxies as "10.0.0.0/8", as _parse unmaps addresses.
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96), strict=False)
        networks.append(network)
    return tuple(networks)


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip(meta: Mapping[str, str], *, trusted_proxies: Sequence[str]) -> IPAddress | None:
    """Return the client's address from a WSGI environ / ``request.META``; ``None`` if it cannot be known.

    ``REMOTE_ADDR`` unless it lies in one of ``trusted_proxies`` (CIDR strings); then the right-most entry
    of ``X-Forwarded-For`` that is not a trusted proxy. If every entry is a trusted proxy, the left-most
    one; if the header is missing, ``REMOTE_ADDR``. An entry that is not an address where the client's
    should be, a missing or invalid ``REMOTE_ADDR``, or more than :data:`MAX_HOPS` trusted entries give
    ``None``.
    Never raises.
    """
    try:
        remote = _parse(meta.get("REMOTE_ADDR"))
        if remote is None:
            return None
        # A single CIDR string where a list was meant would otherwise be read as one network per character.
        networks = _networks(
            (trusted_proxies,) if isinstance(trusted_proxies, str) else tuple(trusted_proxies)
        )
        if not networks or not _is_trusted(remote, networks):
            return remote
        header = meta.get("HTTP_X_FORWARDED_FOR")
        if not isinstance(header, str) or not header.strip():
            return remote
        # Only the right-most MAX_HOPS entries are split off; past them the rest of the header stays one
        # entry with commas in it, which is no address: a chain of trusted proxies that long gives None.
        entries = header.rsplit(",", MAX_HOPS)
        address: IPAddress | None = None
        for entry in reversed(entries):
            address = _parse(entry)
            if address is None or not _is_trusted(address, networks):
                return address
        return address
    except Exception:  # a Mapping that misbehaves: telemetry must never break a request
        return None


def truncate_ip(ip: IPAddress) -> str:
    """Return the network ``ip`` belongs to, as a string: an IPv4 /24 (``"192.0.2.0"``) or an IPv6 /48.

    An IPv4-mapped IPv6 address (``::ffff:192.0.2.7``) is truncated as the IPv4 address it carries.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Masking the integer is ~20 times cheaper than building an ip_network (this runs on every hit).
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(ip) & _IPV4_MASK))
    # A zone ("fe80::1%eth0") is dropped too: it names an interface of this server, not a network.
    return str(ipaddress.IPv6Address(int(ip) & _IPV6_MASK))
