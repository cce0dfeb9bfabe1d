"""The production ASGI application plus a bare Channels consumer, for bench_push's baseline.

`/bench/ws/bare/<organization id>/` is what a plain Channels app would do for a wallboard:
an AsyncWebsocketConsumer that joins the organization's group on channels_redis's stock
core layer (the "bare" alias in bench/settings.py) and forwards each message's text. It
checks no login and keeps no presence: it is the framework's floor, not a feature.
Everything else goes to callcenter.asgi's application unchanged.
"""

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from django.urls import path

from callcenter.asgi import application as production

BARE_PREFIX = "/bench/ws/bare/"


def bare_group(organization_id) -> str:
    return f"bare.org.{organization_id}"


class BareWallboard(AsyncWebsocketConsumer):
    channel_layer_alias = "bare"

    async def connect(self):
        self.group = bare_group(self.scope["url_route"]["kwargs"]["organization_id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bare_push(self, message):
        await self.send(text_data=message["text"])


bare_router = URLRouter([path("bench/ws/bare/<int:organization_id>/", BareWallboard.as_asgi())])


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith(BARE_PREFIX):
        return await bare_router(scope, receive, send)
    return await production(scope, receive, send)
