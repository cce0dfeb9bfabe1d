"""Which pages may open our WebSockets: Origin compared by scheme, host and port.

Allowed: the socket's own origin (the Host it was opened on, with http for ws:// and https
for wss://), PUBLIC_BASE_URL's origin and CSRF_TRUSTED_ORIGINS. The host must also be in
ALLOWED_HOSTS. Anything else, or no Origin at all, is closed before the consumer runs.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def allowed_origins(scope) -> set[tuple[str, str, int]]:
    urls = [settings.PUBLIC_BASE_URL, *settings.CSRF_TRUSTED_ORIGINS]
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
    if host:
        urls.append(f"{'https' if scope.get('scheme') == 'wss' else 'http'}://{host}")
    return {origin for origin in map(origin_of, urls) if origin is not None}


def origin_allowed(scope) -> bool:
    raw = dict(scope.get("headers", [])).get(b"origin")
    origin = origin_of(raw.decode("latin-1")) if raw else None
    if origin is None:
        return False
    domain, _ = split_domain_port(origin[1] if ":" not in origin[1] else f"[{origin[1]}]")
    if not validate_host(domain or origin[1], settings.ALLOWED_HOSTS):
        return False
    return origin in allowed_origins(scope)


class OriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
