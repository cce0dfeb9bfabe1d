"""WebSocket routes. Each app adds its consumers here."""

from django.urls import path

from agents.consumers import ConsoleConsumer, WallboardConsumer

websocket_urlpatterns = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/wallboard/", WallboardConsumer.as_asgi()),
]
