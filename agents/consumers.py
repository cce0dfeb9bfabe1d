"""WebSocket consumers: an agent's console and a supervisor's wallboard.

Both authenticate by the Django session (AuthMiddlewareStack in callcenter/asgi.py) and
only forward what calls/realtime.py sends to their groups. Anything missed while a socket
was down is re-read from the JSON endpoints, so the browser re-syncs after reconnecting.
"""

import asyncio
import json
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY

from agents import selectors, services, states
from calls import metrics, realtime

# Close codes the browser can tell apart from network failures (4000-4999 are ours).
NOT_LOGGED_IN = 4401
NOT_ALLOWED = 4403
SESSION_ENDED = 4401  # like NOT_LOGGED_IN: the browser goes back to the login page


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined = ()
    page = "live"  # the metrics label of open sockets
    accepted = False

    async def connect(self):
        # Pushes from worker threads of this process reach the in-memory layer through this loop.
        realtime.bind_loop(asyncio.get_running_loop())
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        groups = await database_sync_to_async(self.groups_for)(user)
        if not groups:
            await self.close(code=NOT_ALLOWED)
            return
        # Remembered before joining, so a socket that closes half-way still leaves them all.
        # Logout, a password change, deactivation or removal closes the login's sockets
        # through this group (agents/sessions.py).
        groups = [*groups, realtime.user_group(user.pk)]
        # Remembered before joining, so a socket that closes half-way still leaves them all.
        self.groups_joined = groups
        await realtime.join(self.channel_name, groups)
        await self.accept()
        self.accepted = True
        metrics.WEBSOCKETS_OPEN.labels(self.page).inc()
        await self.opened()

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A consumer that ends without a disconnect (the channel layer failed under it,
            # or the server cancelled it) still leaves its groups and its presence.
            await self.forget()

    async def disconnect(self, code):
        await self.forget()

    async def forget(self):
        groups, self.groups_joined = self.groups_joined, ()
        if not groups:
            return
        if self.accepted:
            self.accepted = False
            metrics.WEBSOCKETS_OPEN.labels(self.page).dec()
        try:
            await realtime.leave(self.channel_name, groups)
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

    # A push carries its frame serialized once (calls.realtime.framed) for every socket that
    # gets it; a message without one is serialized here.
    async def call_update(self, message):
        await self.send(text_data=message.get("frame") or json.dumps({"type": "call.update", "call": message["call"]}))

    async def agent_state(self, message):
        await self.send(text_data=message.get("frame") or json.dumps({"type": "agent.state", "state": message["state"]}))


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
        return [realtime.agent_group(self.agent.pk)]

    async def opened(self):
        await database_sync_to_async(services.console_connection_open)(
            agent=self.agent, channel_name=self.channel_name
        )
        await database_sync_to_async(states.console_opened)(agent=self.agent)

    async def closed(self):
        await database_sync_to_async(services.console_connection_close)(channel_name=self.channel_name)
        await database_sync_to_async(states.console_closed)(agent=self.agent)

    async def heard(self):
        await database_sync_to_async(services.console_connection_seen)(channel_name=self.channel_name)

    async def agent_notification(self, message):
        await self.send_json({"type": "agent.notification", "notification": message["notification"]})

    async def agent_callback(self, message):
        await self.send_json({"type": "agent.callback", "callback": message["callback"]})


class WallboardConsumer(_LiveConsumer):
    """A supervisor's wallboard: every call of the organization."""

    page = "wallboard"

    def groups_for(self, user):
        organization = selectors.supervisor_organization(user)
        if organization is None:
            return []
        return [realtime.org_group(organization.pk)]
