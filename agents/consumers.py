"""WebSocket consumers: an agent's console and a supervisor's wallboard.

Both authenticate by the Django session (AuthMiddlewareStack in callcenter/asgi.py) and
only forward what calls/realtime.py sends to their groups. Anything missed while a socket
was down is re-read from the JSON endpoints, so the browser re-syncs after reconnecting.

Pushes come from this process's hub (calls/realtime.py), not through Channels' channel
layer: the hub hands each push to every local socket's queue, and each socket writes its
queue in order from a task of its own, so one slow or closed socket holds up no other.
"""

import asyncio
import json
import logging
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY

from agents import selectors, services, states
from calls import metrics, realtime

logger = logging.getLogger(__name__)

# Close codes the browser can tell apart from network failures (4000-4999 are ours).
NOT_LOGGED_IN = 4401
NOT_ALLOWED = 4403
SESSION_ENDED = 4401  # like NOT_LOGGED_IN: the browser goes back to the login page


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    # No Channels layer: pushes arrive from calls.realtime's hub (`deliver`), so Channels
    # neither opens a channel per socket nor reads one.
    channel_layer_alias = None
    groups_joined = ()
    page = "live"  # the metrics label of open sockets
    accepted = False
    writer = None

    async def connect(self):
        # Presence rows are keyed by this name.
        self.channel_name = realtime.listener_name()
        self.pushes = asyncio.Queue(maxsize=realtime.SOCKET_BACKLOG)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        groups = await database_sync_to_async(self.groups_for)(user)
        if not groups:
            await self.close(code=NOT_ALLOWED)
            return
        # Logout, a password change, deactivation or removal closes the login's sockets
        # through this group (agents/sessions.py).
        groups = [*groups, realtime.user_group(user.pk)]
        # Remembered before joining, so a socket that closes half-way still leaves them all.
        self.groups_joined = groups
        await realtime.join(self, groups)
        await self.accept()
        self.accepted = True
        # Pushes taken since the join wait in the queue; they are written from here on.
        self.writer = asyncio.get_running_loop().create_task(self.write_pushes())
        metrics.WEBSOCKETS_OPEN.labels(self.page).inc()
        await self.opened()

    # calls.realtime.Listener ----------------------------------------------------------------
    def deliver(self, message):
        try:
            self.pushes.put_nowait(message)
        except asyncio.QueueFull:
            # The browser reads slower than pushes come: it re-syncs after a reconnect instead.
            logger.warning("a %s socket fell %d pushes behind; closing it", self.page, realtime.SOCKET_BACKLOG)
            self.lost()

    def lost(self):
        if self.writer is not None:
            self.writer.cancel()
        asyncio.get_running_loop().create_task(self.close_and_forget())

    async def close_and_forget(self):
        # Presence goes at once, not when the browser answers the close (it may never).
        await self.close(code=realtime.LIVE_LOST)
        await self.forget()

    async def write_pushes(self):
        while True:
            message = await self.pushes.get()
            frame = message.get("frame")
            handler = None if frame is not None else getattr(self, str(message.get("type")).replace(".", "_"), None)
            if frame is None and handler is None:
                logger.warning("a %s socket got a push it has no handler for: %r", self.page, message.get("type"))
                continue
            try:
                if frame is not None:
                    await self.send(text_data=frame)
                else:
                    await handler(message)
            except Exception:  # the socket went away under the write; its disconnect cleans up
                logger.debug("a push to a %s socket was not written", self.page, exc_info=True)
                return

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A consumer that ends without a disconnect (its join failed with Redis away, or
            # the server cancelled it) still leaves its groups and its presence.
            await self.forget()

    async def disconnect(self, code):
        await self.forget()

    async def forget(self):
        groups, self.groups_joined = self.groups_joined, ()
        if not groups:
            return
        if self.writer is not None:
            self.writer.cancel()
        if self.accepted:
            self.accepted = False
            metrics.WEBSOCKETS_OPEN.labels(self.page).dec()
        try:
            await realtime.leave(self, groups)
        finally:
            # Whatever became of the leave, a closed socket no longer counts as someone listening.
            await self.closed()

    async def opened(self):
        pass

    async def closed(self):
        pass

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A malformed frame gets an error message; the socket stays up.
        try:
            content = json.loads(text_data) if text_data is not None else None
        except (ValueError, RecursionError):
            content = None
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json({"type": "error", "message": 'Send JSON objects such as {"type": "ping"}.'})
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            # Each heartbeat re-checks the login behind the socket, in case a signal was missed.
            if not await database_sync_to_async(self.still_allowed)():
                await self.close(code=SESSION_ENDED)
                return
            await self.heard()
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": f"Unknown message type {content['type'][:40]!r}."})

    def still_allowed(self):
        """The session still exists and its login may still use this socket."""
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or session is None or not session.session_key:
            return False
        stored = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key)
        if not stored.exists(session.session_key):
            return False
        user.refresh_from_db()
        if not user.is_active or stored.get(HASH_SESSION_KEY) != user.get_session_auth_hash():
            return False
        return bool(self.groups_for(user))

    async def session_end(self, message):
        await self.close(code=SESSION_ENDED)

    async def heard(self):
        pass

    # Call updates and agent states normally arrive framed (calls.realtime.framed) and their
    # frame is written as it is by write_pushes, serialized once for every socket; one sent
    # without a frame is serialized here.
    async def call_update(self, message):
        await self.send(text_data=json.dumps({"type": "call.update", "call": message["call"]}))

    async def agent_state(self, message):
        await self.send(text_data=json.dumps({"type": "agent.state", "state": message["state"]}))


class ConsoleConsumer(_LiveConsumer):
    """An agent's console tab: the agent's calls and click-to-call notifications.

    Each open tab is a ConsoleConnection row while it lives, which is how a click-to-call
    request served by any process knows whether someone is listening.
    """

    page = "console"
    agent = None

    def groups_for(self, user):
        self.agent = selectors.agent_for_user(user)
        if self.agent is None:
            return []
        return [realtime.agent_group(self.agent.pk), realtime.org_agents_group(self.agent.organization_id)]

    async def opened(self):
        await database_sync_to_async(services.console_connection_open)(
            agent=self.agent, channel_name=self.channel_name
        )
        await database_sync_to_async(states.console_opened)(agent=self.agent)

    async def closed(self):
        await database_sync_to_async(services.console_connection_close)(channel_name=self.channel_name)
        await database_sync_to_async(states.console_closed)(agent=self.agent)

    async def heard(self):
        await database_sync_to_async(services.console_connection_seen)(
            agent=self.agent, channel_name=self.channel_name
        )

    async def agent_notification(self, message):
        await self.send_json({"type": "agent.notification", "notification": message["notification"]})

    async def agent_callback(self, message):
        await self.send_json({"type": "agent.callback", "callback": message["callback"]})

    async def agent_callback_changed(self, message):
        await self.send_json({"type": "agent.callback_changed", "callback": message["callback"]})


class WallboardConsumer(_LiveConsumer):
    """A supervisor's wallboard: every call of the organization."""

    page = "wallboard"

    def groups_for(self, user):
        organization = selectors.supervisor_organization(user)
        if organization is None:
            return []
        return [realtime.org_group(organization.pk)]
