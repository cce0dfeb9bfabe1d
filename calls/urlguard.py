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


def _is_public(ip):
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, private, link-local (cloud metadata),
    # CGNAT 100.64/10, reserved and unspecified ranges alike.
    return ip.is_global and not ip.is_multicast


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
