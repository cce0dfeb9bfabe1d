"""Refuses webhook targets inside our own network (SSRF), when a URL is saved and when it is sent."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")


class UnsafeURL(ValueError):
    pass


def _literal_ip(host):
    """The address a host written as an IP literal means, in any spelling (dotted, decimal, hex, octal)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.ip_address(socket.inet_aton(host))
    except OSError:
        return None


# IPv6 ranges that reach an internal network or carry an IPv4 address inside them; each is
# refused whole (what the embedded address would be is not worth trusting). 6to4
# (2002::/16) is refused when the IPv4 address it embeds is not public.
_REFUSED_V6 = tuple(
    ipaddress.ip_network(net)
    for net in (
        "::/96",  # IPv4-compatible ::a.b.c.d (deprecated) and the unspecified address
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local-use prefix
        "2001::/32",  # Teredo
        "fc00::/7",  # unique local (ULA)
        "fec0::/10",  # site-local (deprecated)
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
        "100::/64",  # discard-only
        "2001:db8::/32",  # documentation
    )
)


def _is_public(ip):
    """True only for an address on the public internet, in neither family's internal ranges."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_public(ip.ipv4_mapped)
        if ip.sixtofour is not None and not _is_public(ip.sixtofour):
            return False
        if any(ip in network for network in _REFUSED_V6):
            return False
    # is_global is False for loopback, private, link-local (cloud metadata),
    # CGNAT 100.64/10, reserved and unspecified ranges alike.
    return ip.is_global and not ip.is_multicast and not ip.is_unspecified


def _split(url):
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("The URL's port is not valid.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Webhook URLs must be http or https with a host.")
    return parts.hostname.rstrip("."), port or (443 if parts.scheme == "https" else 80)


def resolve_public_addresses(url):
    """Resolve `url`'s host for sending: every address must be public, or UnsafeURL is raised."""
    host, port = _split(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"Cannot resolve {host}.") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not settings.ALLOW_PRIVATE_WEBHOOK_URLS:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%")[0])):
                raise UnsafeURL(f"{host} resolves to a non-public address ({address}).")
    return addresses


def check_webhook_url(url):
    """Check a URL as it is saved: literal addresses and internal names are refused here.

    Host names are not looked up (no DNS inside a request); every send resolves the name,
    checks each address and connects to the one it checked.
    """
    host, _ = _split(url)
    if settings.ALLOW_PRIVATE_WEBHOOK_URLS:
        return
    ip = _literal_ip(host)
    if ip is not None:
        if not _is_public(ip):
            raise UnsafeURL(f"{host} is not a public address.")
        return
    lowered = host.lower()
    if lowered == "localhost" or lowered.endswith(_INTERNAL_SUFFIXES):
        raise UnsafeURL(f"{host} is an internal host name.")
