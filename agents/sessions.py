"""A session's end ends its sockets.

Logout, a password change, a login or agent made inactive, and removal from the
organization (its membership or agent row deleted, or moved) close every open WebSocket of
that login at once (calls.realtime.user_sockets_close); reconnecting is then refused by
the consumers' own checks. Connected in agents/apps.py.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from agents.models import Agent
from calls import realtime
from tenants.models import Membership


def _close_on_commit(user_id) -> None:
    if user_id is not None:
        transaction.on_commit(lambda: realtime.user_sockets_close(user_id))


def logged_out(sender, request, user, **kwargs):
    if user is not None:
        realtime.user_sockets_close(user.pk)


def user_before_save(sender, instance, **kwargs):
    if instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    instance._ends_sessions = bool(
        before and (before["password"] != instance.password or (before["is_active"] and not instance.is_active))
    )


def user_saved(sender, instance, created, **kwargs):
    if getattr(instance, "_ends_sessions", False):
        instance._ends_sessions = False
        _close_on_commit(instance.pk)


def agent_before_save(sender, instance, **kwargs):
    if instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values("is_active", "organization_id").first()
    instance._ends_sessions = bool(
        before and ((before["is_active"] and not instance.is_active) or before["organization_id"] != instance.organization_id)
    )


def membership_before_save(sender, instance, **kwargs):
    if instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values("organization_id", "role").first()
    instance._ends_sessions = bool(before and (before["organization_id"], before["role"]) != (instance.organization_id, instance.role))


def saved(sender, instance, created, **kwargs):
    if getattr(instance, "_ends_sessions", False):
        instance._ends_sessions = False
        _close_on_commit(instance.user_id)


def removed(sender, instance, **kwargs):
    _close_on_commit(instance.user_id)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(logged_out, dispatch_uid="agents.sessions.logged_out")
    pre_save.connect(user_before_save, sender=user_model, dispatch_uid="agents.sessions.user_before_save")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="agents.sessions.user_saved")
    for model, before in ((Agent, agent_before_save), (Membership, membership_before_save)):
        pre_save.connect(before, sender=model, dispatch_uid=f"agents.sessions.{model.__name__}.before")
        post_save.connect(saved, sender=model, dispatch_uid=f"agents.sessions.{model.__name__}.saved")
        post_delete.connect(removed, sender=model, dispatch_uid=f"agents.sessions.{model.__name__}.removed")
