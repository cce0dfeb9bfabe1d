"""Writes of the agent's desk: dispositions and notes, contacts, scheduled callbacks.

Agent states live in agents/states.py. Every function here is the one way its change is
made, from the console, /api/v1 or the admin alike.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from agents import selectors, states
from agents.models import Agent, Callback, CallDisposition, Contact, ContactNumber, Disposition
from agents.webhooks import desk_event_write
from calls import realtime
from calls import services as call_services
from calls.models import Call, DoNotCallNumber
from calls.phone import InvalidPhoneNumber, to_e164
from calls.representations import iso
from tenants.errors import ServiceError
from tenants.models import Organization

# A pending callback this long past due is missed (supervisors see it and may reassign it).
CALLBACK_GRACE = timedelta(minutes=15)


def disposition_public(row: CallDisposition) -> dict:
    return {
        "call_uuid": row.call.request_uuid,
        "disposition": {"id": row.disposition_id, "code": row.disposition.code, "label": row.disposition.label},
        "note": row.note,
        "agent_id": row.agent_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


@transaction.atomic
def call_disposition_set(*, agent: Agent | None, call_uuid: str, disposition_id: int, note: str = "",
                         organization: Organization | None = None) -> CallDisposition:
    """Give a finished call its outcome and note (again, to correct it). The call and the
    disposition must be the organization's; an agent may disposition only their own calls.
    An outcome marked "adds to do-not-call" puts the call's number on the organization's
    list; correcting the outcome later leaves it there (a supervisor takes it off)."""
    if agent is not None:
        organization_id = agent.organization_id
    elif organization is not None:
        organization_id = organization.pk
    else:
        raise ServiceError("An agent or an organization is needed", status=400, code="malformed_request")
    calls = Call.objects.filter(organization_id=organization_id, request_uuid=call_uuid)
    if agent is not None:
        calls = calls.filter(agent=agent)
    call = calls.first()
    if call is None:
        raise ServiceError("Call not found", status=404, code="call_not_found")
    if call.is_live:
        raise ServiceError("The call is still live; disposition it once it ends", status=409, code="call_live")
    disposition = Disposition.objects.filter(
        organization_id=organization_id, pk=disposition_id if isinstance(disposition_id, int) else None,
        is_active=True,
    ).first()
    if disposition is None:
        raise ServiceError("Choose one of the organization's dispositions", status=400, code="disposition_invalid")
    if len(note) > 4000:
        raise ServiceError("The note is longer than 4000 characters", status=400, code="note_too_long")
    row, _ = CallDisposition.objects.update_or_create(
        call=call,
        defaults={"organization_id": organization_id, "disposition": disposition, "note": note,
                  "agent": agent or call.agent},
    )
    if disposition.adds_to_do_not_call:
        call_services.do_not_call_add(organization_id=organization_id, number=call.to_number,
                                      source=DoNotCallNumber.Source.DISPOSITION, reason=disposition.label, call=call)
    public = disposition_public(row)
    desk_event_write(organization_id=organization_id, event="call.dispositioned",
                     data={**public, "to": call.to_number, "status": call.status})
    if call.agent is not None:
        states.after_disposition(agent=call.agent, call=call)
    return row


# Contacts

def _numbers(organization_id: int, raw_numbers: list[str]) -> list[str]:
    numbers = []
    for raw in raw_numbers:
        try:
            number = to_e164(raw)
        except InvalidPhoneNumber as exc:
            raise ServiceError(str(exc), status=400, code="invalid_number") from None
        if number not in numbers:
            numbers.append(number)
    return numbers


@transaction.atomic
def contact_save(*, organization: Organization, contact: Contact | None = None, name: str,
                 numbers: list[str], company: str = "", email: str = "", notes: str = "",
                 external_id: str = "", tags: list[str] | None = None) -> Contact:
    """Create or replace a contact; each number (E.164) may belong to one contact of the organization."""
    cleaned = _numbers(organization.pk, numbers)
    if not name.strip():
        raise ServiceError("A contact needs a name", status=400, code="contact_name_required")
    taken = ContactNumber.objects.filter(organization=organization, number__in=cleaned)
    if contact is not None:
        taken = taken.exclude(contact=contact)
    clash = taken.select_related("contact").first()
    if clash:
        raise ServiceError(f"{clash.number} already belongs to {clash.contact.name}", status=409,
                           code="contact_number_taken")
    same_id = Contact.objects.filter(organization=organization, external_id=external_id)
    if contact is not None:
        same_id = same_id.exclude(pk=contact.pk)
    if external_id and same_id.exists():
        raise ServiceError(f"Another contact has the external id {external_id!r}", status=409,
                           code="contact_external_id_taken")
    contact = contact or Contact(organization=organization)
    contact.name, contact.company, contact.email, contact.notes = name.strip(), company, email, notes
    contact.external_id, contact.tags = external_id, list(tags or [])
    try:
        with transaction.atomic():
            contact.save()
            ContactNumber.objects.filter(contact=contact).exclude(number__in=cleaned).delete()
            have = set(ContactNumber.objects.filter(contact=contact).values_list("number", flat=True))
            ContactNumber.objects.bulk_create(
                ContactNumber(organization=organization, contact=contact, number=n) for n in cleaned if n not in have
            )
    except IntegrityError:
        raise ServiceError("A number or external id was taken meanwhile", status=409, code="conflict") from None
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()


# Callbacks

def callback_public(callback: Callback, *, time_zone: str = "UTC") -> dict:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, time_zone = ZoneInfo("UTC"), "UTC"
    local = timezone.localtime(callback.due_at, zone)
    return {
        "id": callback.pk,
        "agent_id": callback.agent_id,
        "contact_id": callback.contact_id,
        "contact_name": callback.contact.name if callback.contact_id and callback.contact else None,
        "number": callback.number,
        "due_at": iso(callback.due_at),
        "due_local": local.strftime("%Y-%m-%d %H:%M"),
        "time_zone": time_zone,
        "note": callback.note,
        "status": callback.status,
    }


def _local_zone(organization_id: int):
    try:
        return ZoneInfo(selectors.organization_time_zone(organization_id=organization_id))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _callback_group(callback: Callback) -> str:
    """The consoles that see `callback`: its agent's, or every agent's of the organization while nobody holds it."""
    if callback.agent_id is None:
        return realtime.org_agents_group(callback.organization_id)
    return realtime.agent_group(callback.agent_id)


def _callback_changed(callback: Callback, *, seen_by: str | None = None) -> None:
    """Once the change commits, the consoles that see the callback (and `seen_by`, who saw it
    before) update their lists."""
    groups = {_callback_group(callback), *([seen_by] if seen_by else [])}

    def push() -> None:
        message = {"type": "agent.callback_changed", "callback": callback_public(
            callback, time_zone=selectors.organization_time_zone(organization_id=callback.organization_id))}
        for group in groups:
            realtime.send(group, message, wait=False)

    transaction.on_commit(push)


def _due_in_utc(organization_id: int, due_at: datetime) -> datetime:
    """A callback's due time in UTC, in the future; a naive one is read in the organization's time zone."""
    try:
        if timezone.is_naive(due_at):
            due_at = timezone.make_aware(due_at, _local_zone(organization_id))
        due_at = due_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ServiceError("The callback's time is out of range", status=400, code="callback_time_invalid") from None
    if due_at <= timezone.now():
        raise ServiceError("A callback must be due in the future", status=400, code="callback_in_past")
    return due_at


@transaction.atomic
def callback_schedule(*, organization_id: int, agent: Agent | None, number: str, due_at: datetime, note: str = "",
                      contact_id: int | None = None, call_uuid: str | None = None) -> Callback:
    """Promise a call back, for `agent` or, with None, for any agent of the organization.

    A naive `due_at` is read in the organization's time zone; stored in UTC.
    """
    if agent is not None and agent.organization_id != organization_id:
        raise ServiceError("Agent not found", status=404, code="agent_not_found")
    try:
        number = to_e164(number)
    except InvalidPhoneNumber as exc:
        raise ServiceError(str(exc), status=400, code="invalid_number") from None
    due_at = _due_in_utc(organization_id, due_at)
    call_services.do_not_call_check(organization_id=organization_id, number=number)
    contact = None
    if contact_id is not None:
        contact = Contact.objects.filter(organization_id=organization_id, pk=contact_id).first()
        if contact is None:
            raise ServiceError("Contact not found", status=404, code="contact_not_found")
    else:
        contact = selectors.contact_for_number(organization_id=organization_id, number=number)
    call = Call.objects.filter(organization_id=organization_id, request_uuid=call_uuid).first() \
        if call_uuid else None
    callback = Callback.objects.create(
        organization_id=organization_id, agent=agent, contact=contact, number=number,
        due_at=due_at, note=note, call=call,
    )
    callback_remind.using(run_after=callback.due_at).enqueue(callback.pk)
    _callback_changed(callback)
    return callback


@task()
def callback_remind(callback_id: int) -> None:
    callback_reminder_send(callback_id=callback_id)


def callback_reminder_send(*, callback_id: int) -> bool:
    """At the due time: push a reminder to the consoles that see the callback (its agent's, or
    every agent's while nobody holds it); False when it is no longer pending, not due yet, or
    already reminded for this due time (a task run twice, or one left from an earlier time)."""
    callback = Callback.objects.select_related("contact").filter(pk=callback_id, status=Callback.Status.PENDING).first()
    if callback is None or callback.due_at > timezone.now():
        return False
    if callback.reminded_at is not None and callback.reminded_at >= callback.due_at:
        return False
    Callback.objects.filter(pk=callback.pk).update(reminded_at=timezone.now())
    # Still pending once the grace time is over, it is missed (and shows to supervisors).
    callback_miss.using(run_after=callback.due_at + CALLBACK_GRACE).enqueue(callback.pk)
    zone = selectors.organization_time_zone(organization_id=callback.organization_id)
    realtime.send(_callback_group(callback),
                  {"type": "agent.callback", "callback": callback_public(callback, time_zone=zone)})
    return True


@task()
def callback_miss(callback_id: int) -> None:
    callbacks_mark_missed()


@transaction.atomic
def callback_take(*, agent: Agent, callback_id: int) -> Callback:
    """`agent` takes a pending callback that was left for any agent; the first to ask gets it.

    Taking one already held by this agent answers it again; one held by another agent, or no
    longer pending, answers 409 `callback_taken`.
    """
    rows = Callback.objects.filter(organization_id=agent.organization_id, pk=callback_id).select_related("contact")
    # One conditional UPDATE: of two agents asking at once, exactly one matches the row.
    if rows.filter(agent__isnull=True, status=Callback.Status.PENDING).update(agent=agent):
        taken = rows.get()
        _callback_changed(taken, seen_by=realtime.org_agents_group(agent.organization_id))
        return taken
    found = rows.first()
    if found is None:
        raise ServiceError("Callback not found", status=404, code="callback_not_found")
    if found.agent_id == agent.pk and found.status == Callback.Status.PENDING:
        return found
    raise ServiceError("Another agent has taken this callback, or it is no longer pending", status=409,
                       code="callback_taken")


@transaction.atomic
def callback_done(*, organization_id: int, callback_id: int, agent: Agent | None = None) -> Callback:
    """Mark a callback of the organization done; with `agent` (the console), only one that agent holds."""
    rows = Callback.objects.filter(organization_id=organization_id, pk=callback_id).select_related("contact")
    callback = (rows.filter(agent=agent) if agent is not None else rows).first()
    if callback is None:
        raise ServiceError("Callback not found", status=404, code="callback_not_found")
    callback.status = Callback.Status.DONE
    callback.save(update_fields=["status"])
    _callback_changed(callback)
    return callback


def callbacks_mark_missed(*, now: datetime | None = None) -> int:
    """Pending callbacks past due by more than the grace time become missed."""
    cutoff = (now or timezone.now()) - CALLBACK_GRACE
    return Callback.objects.filter(status=Callback.Status.PENDING, due_at__lt=cutoff).update(
        status=Callback.Status.MISSED
    )


@transaction.atomic
def callback_edit(*, callback: Callback, agent: Agent | None, due_at: datetime, note: str, status: str) -> Callback:
    """A supervisor's change to a callback: who holds it (None: any agent), when, its note, its status.

    A callback pending at a new time, or pending again, is reminded at its due time, which
    must then be in the future; the consoles that saw it before and those that see it now
    update their lists.
    """
    before = Callback.objects.select_for_update().get(pk=callback.pk)
    if agent is not None and (agent.organization_id != before.organization_id or not agent.is_active):
        raise ServiceError("Reassign to an active agent of the same organization", status=400,
                           code="agent_invalid")
    remind = status == Callback.Status.PENDING and (due_at != before.due_at or before.status != status)
    if remind:
        due_at = _due_in_utc(before.organization_id, due_at)
    held_by = _callback_group(before)
    callback.agent, callback.due_at, callback.note, callback.status = agent, due_at, note, status
    if remind:
        callback.reminded_at = None
        callback_remind.using(run_after=due_at).enqueue(callback.pk)
    callback.save(update_fields=["agent", "due_at", "note", "status", "reminded_at"])
    _callback_changed(callback, seen_by=held_by)
    return callback


def callback_reassign(*, callback: Callback, agent: Agent | None, due_at: datetime | None = None) -> Callback:
    """A supervisor (or CRM) gives a (missed) callback to another agent of the same organization,
    or with None leaves it for any agent, pending again: at `due_at`, or at its own time if
    still ahead, else a minute from now."""
    if due_at is None:
        due_at = callback.due_at if callback.due_at > timezone.now() else timezone.now() + timedelta(minutes=1)
    return callback_edit(callback=callback, agent=agent, due_at=due_at, note=callback.note,
                         status=Callback.Status.PENDING)
