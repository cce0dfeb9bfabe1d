"""Writes for organizations, their people and their keys."""

from django.contrib.auth import get_user_model
from django.db import transaction

from agents.models import Agent, Membership


@transaction.atomic
def agent_create(*, organization, username, password, number, click_to_call_enabled=True):
    user = get_user_model().objects.create_user(username=username, password=password)
    Membership.objects.create(user=user, organization=organization)
    return Agent.objects.create(
        user=user, organization=organization, number=number, click_to_call_enabled=click_to_call_enabled
    )


@transaction.atomic
def supervisor_create(*, organization, username, password):
    """A staff login that runs its organization's floor from the admin."""
    user = get_user_model().objects.create_user(username=username, password=password, is_staff=True)
    Membership.objects.create(user=user, organization=organization)
    return user
