"""WebSocket routes. Each app adds its consumers here."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path

from agents.consumers import ConsoleConsumer, WallboardConsumer
from callcenter.origins import OriginValidator
from calls.media.bridge import bridge_application

# Pages in a browser: Origin-checked, authenticated by the session.
websocket_urlpatterns = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]

# Carriers' media streams: no browser, no Origin; each URL carries a signed per-call token.
carrier_websocket_urlpatterns = [
    path("ws/media/<str:token>/", bridge_application),
]

CARRIER_PREFIX = "/ws/media/"


class WebSocketRouter:
    """Carrier streams by their token; everything else through the Origin check and the session."""

    def __init__(self) -> None:
        self.carriers = URLRouter(carrier_websocket_urlpatterns)
        self.browsers = OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))

    async def __call__(self, scope, receive, send):
        if scope["path"].startswith(CARRIER_PREFIX):
            return await self.carriers(scope, receive, send)
        return await self.browsers(scope, receive, send)
