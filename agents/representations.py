"""How agents and their notifications look to the console and the wallboard."""

from agents.selectors import FloorAgent, agent_state
from calls.representations import call_public, iso


def notification_public(notification):
    return {
        "notificationID": notification.pk,
        "action": notification.action,
        "customer_number": notification.customer_number,
        "request_uuid": notification.call.request_uuid if notification.call_id else None,
        "created_at": iso(notification.created_at),
    }


def agent_public(agent):
    return {
        "id": agent.pk,
        "username": agent.user.get_username(),
        "number": agent.number,
        "click_to_call_enabled": agent.click_to_call_enabled,
    }


def agent_state_public(floor_agent: FloorAgent) -> dict:
    """An agent on the wallboard: who, whether a console is open, and the live call if any."""
    agent, call = floor_agent.agent, floor_agent.live_call
    return {
        **agent_public(agent),
        "online": floor_agent.online,
        "state": agent_state(agent=agent),
        "pause_reason": getattr(agent, "current_pause_reason", None),
        "state_since": iso(getattr(agent, "current_state_since", None)),
        "call": call_public(call) if call else None,
    }
