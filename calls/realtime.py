"""The only module that talks to the channel layer.

Pushes leave after the transaction that caused them commits (`call_push` receives the
lifecycle's `transitioned` signal and defers the push to commit). A push that cannot be sent is logged and dropped:
browsers re-sync from the REST API when they reconnect, so live updates are a
convenience on top of the database, never the record.
"""

import asyncio
import atexit
import json
import logging
import threading

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
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


def send(group, message, *, wait=True):
    """Send `message` to every socket in `group`. Returns False when it could not be sent.

    With `wait=False` (call updates) the message is handed to this process's push loop and
    the caller goes on at once: no request or worker thread waits for a fan-out. Handed-over
    pushes leave in the order they were made, and a process that exits sends what it still
    holds first (`flush`, registered with atexit).
    """
    layer = get_channel_layer()
    try:
        if isinstance(layer, InMemoryChannelLayer):
            return _send_in_process(layer, group, message)
        if not wait:
            _hand_over(layer, group, message)
            return True
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _loop_for_pushes()).result(timeout=5)
        return True
    except Exception:  # a push must never undo or fail the change that caused it
        logger.warning("live push to %s failed", group, exc_info=True)
        return False


# Handed-over pushes: one queue per channel layer on the push loop, drained by one task.
# While Redis is slow a queue holds at most PUSH_BACKLOG; past that, pushes are dropped
# (logged): browsers re-sync from the API when they reconnect.
PUSH_BACKLOG = 10_000
_queues: dict = {}
_outstanding = 0
_settled = threading.Condition()


def _hand_over(layer, group, message):
    global _outstanding
    loop = _loop_for_pushes()
    with _settled:
        _outstanding += 1

    def put():
        global _outstanding
        queue = _queues.get(layer)
        if queue is None:
            queue = _queues[layer] = asyncio.Queue(maxsize=PUSH_BACKLOG)
            loop.create_task(_drain(layer, queue))
        try:
            queue.put_nowait((group, message))
        except asyncio.QueueFull:
            logger.warning("live push to %s dropped: %d pushes waiting", group, PUSH_BACKLOG)
            with _settled:
                _outstanding -= 1
                _settled.notify_all()

    loop.call_soon_threadsafe(put)


async def _drain(layer, queue):
    global _outstanding
    while True:
        group, message = await queue.get()
        try:
            await asyncio.wait_for(layer.group_send(group, message), timeout=5)
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


def framed(message: dict) -> dict:
    """`message` with the socket frame it becomes, serialized once here rather than by every
    consumer that forwards it."""
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
