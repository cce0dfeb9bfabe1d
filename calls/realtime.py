"""The only module that talks to the channel layer.

Pushes leave after the transaction that caused them commits (`call_push` receives the
lifecycle's `transitioned` signal and defers the push to commit). A push that cannot be sent is logged and dropped:
browsers re-sync from the REST API when they reconnect, so live updates are a
convenience on top of the database, never the record.
"""

import asyncio
import logging
import threading

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from calls.models import Call
from calls.representations import call_public

logger = logging.getLogger(__name__)

# The in-memory layer lives on the ASGI server's event loop; sends from worker threads
# in the same process are handed to that loop. Consumers register it when they connect.
_server_loop = None


def bind_loop(loop):
    global _server_loop
    _server_loop = loop


# Sends through Redis leave from one event loop per process, in a thread of its own:
# channels_redis keeps its connections per loop, and a fresh loop per send (what
# async_to_sync does in a worker thread) would open a new Redis connection every time.
_push_loop = None
_push_loop_lock = threading.Lock()


def _loop_for_pushes():
    global _push_loop
    with _push_loop_lock:
        if _push_loop is None or _push_loop.is_closed():
            _push_loop = asyncio.new_event_loop()
            threading.Thread(target=_push_loop.run_forever, name="realtime-push", daemon=True).start()
        return _push_loop


def org_group(organization_id):
    return f"org.{organization_id}"


def agent_group(agent_id):
    return f"agent.{agent_id}"


def send(group, message):
    """Send `message` to every socket in `group`. Returns False when it could not be sent."""
    layer = get_channel_layer()
    try:
        if isinstance(layer, InMemoryChannelLayer):
            return _send_in_process(layer, group, message)
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _loop_for_pushes()).result(timeout=5)
        return True
    except Exception:  # a push must never undo or fail the change that caused it
        logger.warning("live push to %s failed", group, exc_info=True)
        return False


# Call updates through Redis are handed to the push loop and not waited for, so the request
# or task that changed the call spends no Redis round trip on them. One consumer sends them
# in the order they were handed over, so a call's updates reach browsers in order. While
# Redis is slow the line holds at most PUSH_BACKLOG; past that, updates are dropped (logged).
PUSH_BACKLOG = 10_000
_outbox: asyncio.Queue | None = None  # touched only on the push loop


def send_later(group, message) -> None:
    """Send `message` to `group` without waiting for it; failures are logged and dropped."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        send(group, message)  # in-process: no network to wait for
        return
    try:
        _loop_for_pushes().call_soon_threadsafe(_hand_over, layer, group, message)
    except RuntimeError:  # the loop closed under us (interpreter shutting down)
        logger.warning("live push to %s dropped: push loop closed", group)


def _hand_over(layer, group, message):
    global _outbox
    if _outbox is None:
        _outbox = asyncio.Queue(maxsize=PUSH_BACKLOG)
        asyncio.get_running_loop().create_task(_deliver(_outbox))
    try:
        _outbox.put_nowait((layer, group, message))
    except asyncio.QueueFull:
        logger.warning("live push to %s dropped: %d pushes waiting", group, PUSH_BACKLOG)


async def _deliver(outbox):
    while True:
        layer, group, message = await outbox.get()
        try:
            await asyncio.wait_for(layer.group_send(group, message), 5)
        except Exception:
            logger.warning("live push to %s failed", group, exc_info=True)


def _send_in_process(layer, group, message):
    loop = _server_loop
    if loop is None or loop.is_closed():
        return False  # no socket has ever connected to this process
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None and running is loop:
        running.create_task(layer.group_send(group, message))
    else:
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(timeout=5)
    return True


def call_push(sender, *, call: Call, **kwargs) -> None:
    """Receiver of lifecycle.transitioned: push the call to browsers once the move commits."""
    transaction.on_commit(lambda: call_changed(call))


def call_changed(call: Call) -> None:
    """Push `call` as committed (the lifecycle loads it with its app, so this reads nothing)."""
    message = {"type": "call.update", "call": call_public(call)}
    send_later(org_group(call.organization_id), message)
    if call.agent_id:
        send_later(agent_group(call.agent_id), message)


def agent_notification(agent_id, notification):
    """Push a click-to-call notification to the agent's console tabs. False when it could not be sent."""
    return send(agent_group(agent_id), {"type": "agent.notification", "notification": notification})


async def join(channel_name, groups):
    """Subscribe a connected socket to `groups` (consumers call this from their event loop)."""
    layer = get_channel_layer()
    for group in groups:
        await layer.group_add(group, channel_name)


# A leave that fails is tried again after these pauses (seconds) before it is given up.
LEAVE_RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)


async def leave(channel_name, groups):
    """Take a closed socket out of `groups`. True when it left every one of them.

    Never raises: a socket that is gone must still lose its presence row (the consumer
    clears it after this). A failed leave (Redis busy or briefly away) is retried; if it
    still fails the channel stays in the group until the group expires, and pushes to it
    expire unread.
    """
    layer = get_channel_layer()
    left_all = True
    for group in groups:
        for delay in (*LEAVE_RETRY_DELAYS, None):
            try:
                await layer.group_discard(group, channel_name)
                break
            except Exception:
                if delay is None:
                    logger.warning("%s could not leave %s", channel_name, group, exc_info=True)
                    left_all = False
                else:
                    await asyncio.sleep(delay)
    return left_all


def user_group(user_id):
    """Every live socket of one login, whatever page opened it."""
    return f"user.{user_id}"


def user_sockets_close(user_id) -> bool:
    """Close every live socket of a login (its session ended, it was deactivated or removed)."""
    return send(user_group(user_id), {"type": "session.end"})
