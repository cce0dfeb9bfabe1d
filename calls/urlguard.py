"""Refuses targets inside our own network (SSRF), when a URL is saved and when it is sent.

Used for customer webhooks, stream URLs and carrier accounts' base URLs alike. Every send
resolves the host, checks each address, connects to the address it checked (`pinned_send`)
and follows no redirect, so a name re-pointed after the check reaches nothing internal.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
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


def check_url_resolving(url):
    """Check a URL as it is saved, resolving its host too (for carrier accounts, saved by staff)."""
    check_webhook_url(url)
    if not settings.ALLOW_PRIVATE_WEBHOOK_URLS:
        resolve_public_addresses(url)


class PinnedAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects to the address the guard checked, not to whatever DNS says a moment later.

    The URL keeps its host name, so the Host header, TLS SNI and certificate checks still
    use the name; only the TCP connection goes to the pinned address.
    """

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pinned = getattr(request, "pinned_address", None)
        if pinned:
            if host_params["scheme"] == "https":
                pool_kwargs["server_hostname"] = host_params["host"]
                pool_kwargs["assert_hostname"] = host_params["host"]
            host_params["host"] = pinned
        return host_params, pool_kwargs


def pinned_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.mount("http://", PinnedAddressAdapter())
    session.mount("https://", PinnedAddressAdapter())
    return session


def pinned_send(session: requests.Session, prepared: requests.PreparedRequest, **kwargs) -> requests.Response:
    """Send `prepared` to a checked, pinned address of its host; redirects are never followed.

    UnsafeURL is raised, before anything is sent, when the host resolves to an internal address.
    """
    addresses = resolve_public_addresses(prepared.url)
    prepared.pinned_address = addresses[0]  # type: ignore[attr-defined]  # read by PinnedAddressAdapter
    kwargs["allow_redirects"] = False
    return session.send(prepared, **kwargs)
