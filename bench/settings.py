"""Settings for benchmark runs only: production settings plus the bare JSON view's URL.

Never used outside bench/: production URLs stay as callcenter/urls.py has them.
"""

from callcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bare view takes the same path through the server as the API it is compared with.
API_PATH_PREFIXES = [*API_PATH_PREFIXES, "/bench/"]  # noqa: F405

# The same server with bench_push's bare consumer beside the production routes (bench/asgi.py).
ASGI_APPLICATION = "bench.asgi.application"

if REDIS_URL:  # noqa: F405
    # The bare consumer's layer: channels_redis's own core class, with the same connection
    # options as ours so that idle sockets survive (callcenter/channel_layers.py says why).
    from callcenter.channel_layers import redis_host

    CHANNEL_LAYERS = {  # noqa: F405
        **CHANNEL_LAYERS,  # noqa: F405
        "bare": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_host(REDIS_URL)]}},  # noqa: F405
    }
