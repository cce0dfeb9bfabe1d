"""How a call looks to the outside: SFVoPI reads, live pushes and the console share one shape."""

from calls.delivery import iso


def call_public(call):
    return {
        "request_uuid": call.request_uuid,
        "call_uuid": call.call_uuid,
        "app_id": call.app.app_id if call.app_id else None,
        "kind": call.kind,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status,
        "agent_id": call.agent_id,
        "call_time_limit": call.call_time_limit,
        "ring_timeout": call.ring_timeout,
        "created_at": iso(call.created_at),
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "duration": call.duration,
        "hangup_cause": call.hangup_cause or None,
    }
