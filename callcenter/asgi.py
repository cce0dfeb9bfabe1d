"""One ASGI application: Django for HTTP, Channels for the WebSockets."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
django.setup(set_prefix=False)  # what get_asgi_application() does, before our handler is made

from callcenter.handlers import ApiInOneThreadHandler  # noqa: E402

django_asgi_app = ApiInOneThreadHandler()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up first)

from callcenter.admission import limited  # noqa: E402
from callcenter.routing import WebSocketRouter  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": limited(django_asgi_app),
        "websocket": WebSocketRouter(),
    }
)
