"""Settings for benchmark runs only: production settings plus the bare JSON view's URL.

Never used outside bench/: production URLs stay as callcenter/urls.py has them.
"""

from callcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bare view takes the same path through the server as the API it is compared with.
API_PATH_PREFIXES = [*API_PATH_PREFIXES, "/bench/"]  # noqa: F405
