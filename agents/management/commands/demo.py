import json as jsonlib
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agents import desk
from agents import services as agent_services
from agents.models import Agent, ContactNumber, DeskSettings, Disposition, PauseReason
from calls import services as call_services
from calls.models import LinkedNumber, SfvopiApp
from tenants import services as tenant_services
from tenants.models import Organization

OLD_RECEIVER = "http://127.0.0.1:9000/"

DISPOSITIONS = [
    ("sale", "Sale"),
    ("callback", "Callback requested"),
    ("not_interested", "Not interested"),
    ("wrong_number", "Wrong number"),
    ("do_not_call", "Do not call"),
]
# Outcomes that put the number on the organization's do-not-call list.
DO_NOT_CALL_CODES = {"do_not_call"}


class Command(BaseCommand):
    help = "Create (or reuse) a demo organization with an app, a linked number, an agent and a fresh API key."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="Demo", help="Organization name (default: Demo)")
        parser.add_argument("--json", action="store_true", help="Print one JSON line")

    @transaction.atomic
    def handle(self, *, org, json: bool, **options):
        organization = Organization.objects.filter(name=org).first() or tenant_services.organization_create(name=org)
        # Each organization gets numbers of its own, derived from its id.
        from_number = f"+918000{organization.pk:06d}"
        agent_number = f"+919800{organization.pk:06d}"

        # The app's webhooks go to this server's own demo receiver (agents/demo_receiver.py),
        # which answers at once: a fresh install leaves no dead letters.
        answer_url = f"{settings.PUBLIC_BASE_URL}/demo/webhooks/answer"
        hangup_url = f"{settings.PUBLIC_BASE_URL}/demo/webhooks/hangup"
        app = SfvopiApp.objects.filter(organization=organization).first()
        if app is None:
            app = call_services.app_create(
                organization=organization, name=f"{org} app", answer_url=answer_url, hangup_url=hangup_url
            )
        elif app.answer_url.startswith(OLD_RECEIVER):
            # An app from an earlier demo still aims at the old stand-alone receiver.
            call_services.app_update(app=app, answer_url=answer_url, hangup_url=hangup_url)
        linked = LinkedNumber.objects.filter(number=from_number).first()
        if linked is None:
            call_services.number_create(organization=organization, number=from_number, app=app)
        elif linked.app_id is None:
            call_services.number_link(app=app, number=from_number)

        agent_password = secrets.token_urlsafe(12)
        supervisor_password = secrets.token_urlsafe(12)
        agent = Agent.objects.filter(organization=organization, number=agent_number).first()
        if agent is None:
            agent = agent_services.agent_create(
                organization=organization,
                username=f"agent{organization.pk}",
                password=agent_password,
                number=agent_number,
            )
        else:
            agent.user.set_password(agent_password)
            agent.user.save()
        User = get_user_model()
        supervisor = User.objects.filter(username=f"supervisor{organization.pk}").first()
        if supervisor is None:
            supervisor = agent_services.supervisor_create(
                organization=organization, username=f"supervisor{organization.pk}", password=supervisor_password
            )
        else:
            supervisor.set_password(supervisor_password)
            supervisor.save()

        DeskSettings.objects.get_or_create(organization=organization)
        for name in ("Break", "Lunch", "Training"):
            PauseReason.objects.get_or_create(organization=organization, name=name)
        for code, label in DISPOSITIONS:
            Disposition.objects.get_or_create(organization=organization, code=code, defaults={
                "label": label, "adds_to_do_not_call": code in DO_NOT_CALL_CODES})
        demo_contact = f"+918000{organization.pk:04d}88"  # the sandbox keeps it on until we end it
        if not ContactNumber.objects.filter(organization=organization, number=demo_contact).exists():
            desk.contact_save(organization=organization, name="Priya Shah", company="Kite Travel",
                              email="priya@example.com", external_id="C-1001", numbers=[demo_contact],
                              tags=["vip"], notes="Prefers mornings")

        _, api_key = tenant_services.api_key_create(organization=organization, name="demo")
        result = {
            "organization": organization.name,
            "api_key": api_key,
            "from_number": from_number,
            "agent_number": agent_number,
            "agent_username": agent.user.get_username(),
            "agent_password": agent_password,
            "supervisor_username": supervisor.get_username(),
            "supervisor_password": supervisor_password,
            "app_id": app.app_id,
            "webhook_secret": app.webhook_secret,
            "contact_number": demo_contact,
        }
        if json:
            self.stdout.write(jsonlib.dumps(result))
        else:
            for name, value in result.items():
                self.stdout.write(f"{name:>20}: {value}")
