"""Live pushes to browsers' sockets and to stream bridges: the only module that carries them.

Pushes leave after the transaction that caused them commits (`call_push` receives the
lifecycle's `transitioned` signal and defers the push to commit). A push that cannot be
sent is logged and dropped: browsers re-sync from the REST API when they reconnect, so
live updates are a convenience on top of the database, never the record.

The fan-out is ours rather than a channel layer's (docs/DESIGN.md, "Live pushes"):

- A push is serialized once, where it is made (`framed`), and leaves as one Redis PUBLISH
  per group, whatever the number of sockets.
- Each serving process has one hub: one Redis subscription per group that has a socket in
  this process, and a registry of its local listeners (sockets, bridges). A push arriving
  there is handed to every local listener of the group in arrival order; each socket
  writes from a queue of its own, so a slow or closed socket holds up no other.
- Without Redis (the embedded default: `manage.py serve` on SQLite, one process), the hub
  is the whole route: pushes from worker threads are handed to the server's event loop.
- If a process's subscription is lost, pushes may have been missed: its sockets are
  closed (LIVE_LOST) and the pages reconnect and re-sync.

Redis pub/sub ignores database numbers, so channel names carry the Redis URL's database:
deployments (or tests) on different databases of one Redis do not hear each other.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import itertools
import json
import logging
import secrets
import threading
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import redis.asyncio as aioredis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.db import transaction
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from calls.models import Call
from calls.representations import call_public

logger = logging.getLogger(__name__)

# Close code of sockets whose process lost its Redis subscription: pushes may have been
# missed, so the page reconnects and re-reads (any code but ours in 4000-4999 does that).
LIVE_LOST = 1011
# Pushes one socket may have waiting; past that it is closed (LIVE_LOST) and re-syncs.
SOCKET_BACKLOG = 1000
# A group whose last local socket left is unsubscribed this much later, unless a socket of
# it comes back first (a page reload leaves and joins within a second).
UNSUBSCRIBE_AFTER_SECONDS = 5.0
# How long a join waits for Redis to confirm a subscription before it fails.
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
# The subscription's read wakes this often when idle, so its health check (a PING every
# health_check_interval) finds a connection that died silently.
IDLE_READ_SECONDS = 5.0


class Listener(Protocol):
    """Something in this process that receives a group's pushes (a socket, a bridge)."""

    def deliver(self, message: dict) -> None:
        """Take one push, in order; called on the hub's event loop, must not block."""

    def lost(self) -> None:
        """The hub lost its subscription: pushes may have been missed."""


def org_group(organization_id: int) -> str:
    return f"org.{organization_id}"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def org_agents_group(organization_id: int) -> str:
    """Every agent console of one organization: what any of its agents may take (callbacks for anyone)."""
    return f"org.{organization_id}.agents"


def user_group(user_id: int) -> str:
    """Every live socket of one login, whatever page opened it."""
    return f"user.{user_id}"


_PROCESS = secrets.token_hex(6)
_names = itertools.count(1)


def listener_name() -> str:
    """A name for a socket, unique across processes and machines (presence rows are keyed by it)."""
    return f"live.{_PROCESS}!{next(_names)}"


# -- where pushes go: Redis (its URL and connection options) or this process ------------------

def _redis_host() -> dict | None:
    """The Redis host entry of the CHANNEL_LAYERS setting, or None for the in-process route."""
    config = settings.CHANNEL_LAYERS.get("default", {})
    if "InMemory" in config.get("BACKEND", "InMemory"):
        return None
    host = config["CONFIG"]["hosts"][0]
    return {"address": host} if isinstance(host, str) else dict(host)


def _channel_prefix(address: str) -> str:
    parsed = urlparse(address)
    database = parse_qs(parsed.query).get("db", [parsed.path.strip("/") or "0"])[0]
    return f"live:{database}:"


def _encode(message: dict) -> bytes:
    # A framed push travels as its frame alone (what sockets write); anything else as JSON.
    frame = message.get("frame")
    if frame is not None:
        return b"F" + frame.encode()
    return b"J" + json.dumps(message, cls=DjangoJSONEncoder).encode()


def _decode(data: bytes) -> dict:
    if data[:1] == b"F":
        return {"frame": data[1:].decode()}
    return json.loads(data[1:])


def _slim(message: dict) -> dict:
    """What listeners get: the frame alone when there is one (as after _encode/_decode)."""
    frame = message.get("frame")
    return {"frame": frame} if frame is not None else message


# -- the receiving side: one hub per serving process ------------------------------------------

class Hub:
    """This process's listeners by group, and (with Redis) its one subscription per group."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: dict | None) -> None:
        self.loop = loop
        self.host = host
        self.address = host["address"] if host else None
        self.prefix = _channel_prefix(self.address) if self.address else ""
        self.groups: dict[str, set[Listener]] = {}
        self.dead = False
        self.pubsub: Any = None
        self.reader: asyncio.Task | None = None
        # Subscribe confirmations arrive in the order the SUBSCRIBEs were sent.
        self.confirming: dict[str, collections.deque[asyncio.Future]] = {}
        self.subscribed: set[str] = set()
        self.ready: dict[str, asyncio.Future] = {}  # the latest SUBSCRIBE of each group
        self.unsubscribing: dict[str, asyncio.TimerHandle] = {}
        # Commands on the subscription go one at a time (the first one connects it).
        self.commands = asyncio.Lock()

    async def add(self, listener: Listener, groups: list[str]) -> None:
        for group in groups:
            self.groups.setdefault(group, set()).add(listener)
            if self.address is not None:
                await self._subscribe(group)

    def remove(self, listener: Listener, groups: list[str]) -> None:
        for group in groups:
            members = self.groups.get(group)
            if members is None:
                continue
            members.discard(listener)
            if not members:
                del self.groups[group]
                if self.address is not None and group in self.subscribed and not self.dead:
                    handle = self.loop.call_later(UNSUBSCRIBE_AFTER_SECONDS, self._unsubscribe_if_unused, group)
                    self.unsubscribing[group] = handle

    def dispatch(self, group: str, message: dict) -> None:
        """Hand `message` to every local listener of `group` (on the hub's loop)."""
        for listener in tuple(self.groups.get(group, ())):
            try:
                listener.deliver(message)
            except Exception:  # one broken listener must not keep the push from the others
                logger.warning("a listener of %s failed to take a push", group, exc_info=True)

    # Redis ---------------------------------------------------------------------------------
    async def _subscribe(self, group: str) -> None:
        pending = self.unsubscribing.pop(group, None)
        if pending is not None:
            pending.cancel()
        if group in self.subscribed:
            # Subscribed, or about to be: wait for the confirmation like the first joiner.
            ready = self.ready.get(group)
            if ready is not None and not ready.done():
                await asyncio.wait_for(asyncio.shield(ready), SUBSCRIBE_TIMEOUT_SECONDS)
            return
        assert self.host is not None and self.address is not None
        self.subscribed.add(group)
        confirmed = self.ready[group] = self.loop.create_future()
        self.confirming.setdefault(group, collections.deque()).append(confirmed)
        try:
            async with self.commands:
                if self.pubsub is None:
                    # No retries: a reconnect would hide a gap in which pushes were lost.
                    options = {**self.host, "retry": Retry(NoBackoff(), 0)}
                    options.pop("address")
                    client = aioredis.Redis.from_url(self.address, **options)
                    self.pubsub = client.pubsub()
                await self.pubsub.subscribe(self.prefix + group)
            if self.reader is None:
                self.reader = self.loop.create_task(self._read())
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_SECONDS)
        except BaseException as error:
            self.subscribed.discard(group)
            if not isinstance(error, asyncio.CancelledError):
                self.fail(error)
            raise

    def _unsubscribe_if_unused(self, group: str) -> None:
        self.unsubscribing.pop(group, None)
        if group in self.groups or group not in self.subscribed or self.dead:
            return
        self.subscribed.discard(group)
        self.loop.create_task(self._unsubscribe(group))

    async def _unsubscribe(self, group: str) -> None:
        try:
            async with self.commands:
                await self.pubsub.unsubscribe(self.prefix + group)
        except Exception:  # its pushes are ignored here anyway; the reader finds a dead link
            logger.info("could not unsubscribe from %s", group, exc_info=True)

    async def _read(self) -> None:
        prefix_length = len(self.prefix)
        try:
            while True:
                received = await self.pubsub.get_message(timeout=IDLE_READ_SECONDS)
                if received is None:
                    continue
                kind = received["type"]
                if kind == "message":
                    self.dispatch(received["channel"].decode()[prefix_length:], _decode(received["data"]))
                elif kind == "subscribe":
                    waiting = self.confirming.get(received["channel"].decode()[prefix_length:])
                    if waiting:
                        future = waiting.popleft()
                        if not future.done():
                            future.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.fail(error)

    def fail(self, error: BaseException) -> None:
        """The subscription is gone: every local listener is told, and the hub is retired."""
        if self.dead:
            return
        self.dead = True
        logger.warning("live pushes lost their Redis subscription (%s); closing this process's sockets", error)
        for waiting in self.confirming.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(ConnectionError("the live-push subscription was lost"))
                    future.exception()  # retrieved: the join that waited raises it
        for handle in self.unsubscribing.values():
            handle.cancel()
        listeners = {listener for members in self.groups.values() for listener in members}
        self.groups.clear()
        for listener in listeners:
            try:
                listener.lost()
            except Exception:
                logger.warning("a listener failed to close", exc_info=True)
        if self.reader is not None and self.reader is not asyncio.current_task():
            self.reader.cancel()
        if self.pubsub is not None:
            self.loop.create_task(self._close_quietly(self.pubsub))

    @staticmethod
    async def _close_quietly(pubsub: Any) -> None:
        try:
            await pubsub.aclose()
        except Exception:  # the connection is already gone; nothing is left to release
            logger.debug("closing a lost subscription failed", exc_info=True)


_hub: Hub | None = None


def _hub_here() -> Hub:
    """This process's hub on the running loop (a new one after a failure or a new setting)."""
    global _hub
    loop = asyncio.get_running_loop()
    host = _redis_host()
    if _hub is None or _hub.dead or _hub.loop is not loop or _hub.host != host:
        _hub = Hub(loop, host)
    return _hub


def _forget_hub(*, setting: str, **kwargs: Any) -> None:
    global _hub
    if setting == "CHANNEL_LAYERS":
        _hub = None


setting_changed.connect(_forget_hub)


async def join(listener: Listener, groups: list[str]) -> None:
    """Start handing `groups`' pushes to `listener` (from the server's event loop).

    Returns once each group's subscription is confirmed, so a push made after the join is
    heard. Raises when Redis cannot be reached (the socket is then refused).
    """
    await _hub_here().add(listener, list(groups))


async def leave(listener: Listener, groups: list[str]) -> bool:
    """Stop handing `groups`' pushes to `listener`. Local and immediate: it cannot fail."""
    hub = _hub
    if hub is not None and hub.loop is asyncio.get_running_loop():
        hub.remove(listener, list(groups))
    return True


def listeners(group: str) -> int:
    """Local listeners of `group` in this process (for tests and health)."""
    hub = _hub
    return len(hub.groups.get(group, ())) if hub is not None and not hub.dead else 0


# -- the sending side ----------------------------------------------------------------------

# Publishes leave from one event loop per process, in a thread of its own, over one Redis
# client kept for the process's life (a fresh loop per send would open a connection each time).
_push_loop = None
_push_loop_lock = threading.Lock()


def _loop_for_pushes():
    global _push_loop
    with _push_loop_lock:
        if _push_loop is None or _push_loop.is_closed():
            _push_loop = asyncio.new_event_loop()
            threading.Thread(target=_push_loop.run_forever, name="realtime-push", daemon=True).start()
        return _push_loop


_publishers: dict[str, Any] = {}


async def publish(group: str, message: dict, host: dict) -> None:
    """PUBLISH `message` to `group`'s channel (on the push loop)."""
    address = host["address"]
    client = _publishers.get(address)
    if client is None:
        options = dict(host)
        options.pop("address")
        client = _publishers[address] = aioredis.Redis.from_url(address, **options)
    await client.publish(_channel_prefix(address) + group, _encode(message))


def send(group: str, message: dict, *, wait: bool = True) -> bool:
    """Send `message` to every listener of `group`, in every process. False when it could not be sent.

    With `wait=False` (call and state updates) the message is handed to this process's push
    loop and the caller goes on at once: no request or worker thread waits for a fan-out.
    Handed-over pushes leave in the order they were made, and a process that exits sends
    what it still holds first (`flush`, registered with atexit). With `wait=True` the caller
    waits for Redis to take the publish, never for the sockets.
    """
    try:
        host = _redis_host()
        if host is None:
            return _send_in_process(group, message)
        if not wait:
            _hand_over(host, group, message)
            return True
        asyncio.run_coroutine_threadsafe(publish(group, message, host), _loop_for_pushes()).result(timeout=5)
        return True
    except Exception:  # a push must never undo or fail the change that caused it
        logger.warning("live push to %s failed", group, exc_info=True)
        return False


# Handed-over pushes: one queue on the push loop, drained by one task. While Redis is slow
# it holds at most PUSH_BACKLOG; past that, pushes are dropped (logged): browsers re-sync
# from the API when they reconnect.
PUSH_BACKLOG = 10_000
_queue: asyncio.Queue | None = None
_outstanding = 0
_settled = threading.Condition()


def _hand_over(host: dict, group: str, message: dict) -> None:
    global _outstanding
    loop = _loop_for_pushes()
    with _settled:
        _outstanding += 1

    def put():
        global _outstanding, _queue
        if _queue is None:
            _queue = asyncio.Queue(maxsize=PUSH_BACKLOG)
            loop.create_task(_drain(_queue))
        try:
            _queue.put_nowait((host, group, message))
        except asyncio.QueueFull:
            logger.warning("live push to %s dropped: %d pushes waiting", group, PUSH_BACKLOG)
            with _settled:
                _outstanding -= 1
                _settled.notify_all()

    loop.call_soon_threadsafe(put)


async def _drain(queue: asyncio.Queue) -> None:
    global _outstanding
    while True:
        host, group, message = await queue.get()
        try:
            await asyncio.wait_for(publish(group, message, host), timeout=5)
        except Exception:
            logger.warning("live push to %s failed", group, exc_info=True)
        finally:
            with _settled:
                _outstanding -= 1
                _settled.notify_all()


def flush(timeout: float = 5.0) -> bool:
    """Wait until every handed-over push has left (or failed). True when none is left."""
    with _settled:
        return _settled.wait_for(lambda: _outstanding == 0, timeout=timeout)


atexit.register(flush)


def _send_in_process(group: str, message: dict) -> bool:
    hub = _hub
    if hub is None or hub.address is not None or hub.loop.is_closed():
        return False  # no socket has ever connected to this process
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is hub.loop:
        hub.dispatch(group, _slim(message))
    else:
        hub.loop.call_soon_threadsafe(hub.dispatch, group, _slim(message))
    return True


def framed(message: dict) -> dict:
    """`message` with the socket frame it becomes, serialized once here rather than by every
    socket that forwards it."""
    return {**message, "frame": json.dumps(message, cls=DjangoJSONEncoder)}


def call_push(sender, *, call: Call, **kwargs) -> None:
    """Receiver of lifecycle.transitioned: push the call to browsers once the move commits."""
    transaction.on_commit(lambda: call_changed(call))


def call_changed(call: Call) -> None:
    """Push `call` as committed (the lifecycle loads it with its app, so this reads nothing)."""
    message = framed({"type": "call.update", "call": call_public(call)})
    send(org_group(call.organization_id), message, wait=False)
    if call.agent_id:
        send(agent_group(call.agent_id), message, wait=False)


def agent_notification(agent_id, notification):
    """Push a click-to-call notification to the agent's console tabs. False when it could not be sent."""
    return send(agent_group(agent_id), {"type": "agent.notification", "notification": notification})


def user_sockets_close(user_id) -> bool:
    """Close every live socket of a login (its session ended, it was deactivated or removed)."""
    return send(user_group(user_id), {"type": "session.end"})
