"""The Redis connection options of live pushes, and the channel layer built on them.

calls/realtime.py carries pushes over Redis pub/sub itself, with the connection options
of this module's `redis_host` (read from CHANNEL_LAYERS); browsers' sockets no longer use
a channel layer. The RedisChannelLayer below stays for anything that asks Channels for
its layer (`get_channel_layer()`); the notes are why each option is set.

What went wrong with the defaults (channels_redis 4.3, redis-py 8.1), and what each option
below answers:

- channels_redis waits for a process's messages with a blocking BZPOPMIN of 5 s
  (`RedisChannelLayer.brpop_timeout`), and redis-py 8 reads every reply with a default
  socket timeout of 5 s. The server answers an empty wait just after 5 s, so the read
  timed out first: TimeoutError, the receive loop of every consumer in the process died,
  and each idle socket was closed without a close frame about every 5 s. Reads now get
  three times the blocking wait (`socket_timeout`); a connection that is really gone is
  found by TCP keepalive and by a PING before a connection idle for a while is reused.
- redis-py's asyncio pool raises MaxConnectionsError as soon as 100 connections are busy.
  When hundreds of sockets close at once, each leaves its groups at the same moment, and
  most leaves failed: dead channels stayed in the groups. Our pool waits for a free
  connection instead (a BlockingConnectionPool) and is sized for bursts.
- A connection reset mid-command is retried a few times with a short backoff rather than
  failing the command at once.
"""

from channels_redis.core import RedisChannelLayer as CoreRedisChannelLayer
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

# channels_redis's blocking read; replies are awaited well beyond it.
BLOCKING_READ_SECONDS = CoreRedisChannelLayer.brpop_timeout
SOCKET_TIMEOUT_SECONDS = BLOCKING_READ_SECONDS * 3
# Connections one process may hold (per event loop). Redis allows 10,000 clients by default.
MAX_CONNECTIONS = 200
# How long a command waits for a free connection when all are busy, before it fails.
POOL_WAIT_SECONDS = 20


def redis_host(url: str, *, max_connections: int = MAX_CONNECTIONS) -> dict:
    """A channels_redis host entry for `url` with the connection options above.

    Every key but `address` is a redis-py connection option: calls/realtime.py passes them to
    its own clients, and channels_redis to its pools.
    """
    return {
        "address": url,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": BLOCKING_READ_SECONDS,
        "socket_keepalive": True,
        # PING a connection that sat unused in the pool this long before trusting it again.
        "health_check_interval": 30,
        "max_connections": max_connections,
        "retry": Retry(ExponentialBackoff(cap=1, base=0.05), 3),
    }


class RedisChannelLayer(CoreRedisChannelLayer):
    """channels_redis's core layer whose pools wait for a free connection instead of failing."""

    pool_wait_seconds = POOL_WAIT_SECONDS

    def create_pool(self, index):
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinel or host/port entries: channels_redis's own pools
            return super().create_pool(index)
        address = host.pop("address")
        return BlockingConnectionPool.from_url(address, timeout=self.pool_wait_seconds, **host)


def redis_channel_layers(url: str, **host_options) -> dict:
    """The CHANNEL_LAYERS setting for Redis at `url` (where calls/realtime.py finds Redis too)."""
    backend = "callcenter.channel_layers.RedisChannelLayer"
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": [redis_host(url, **host_options)]}}}
