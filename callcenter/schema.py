"""drf-spectacular hooks: what the OpenAPI schema covers, and how our API keys appear in it."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

DOCUMENTED_PREFIXES = ("/api/v1/", "/superfone/")
ACTIONS = {"hangup", "link", "unlink", "deactivate", "redeliver"}


def documented_endpoints(endpoints, **kwargs):
    """The public APIs only: /api/v1 and the Superfone-compatible endpoints."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(DOCUMENTED_PREFIXES)]


def call_kinds():
    from calls.models import Call

    return Call.Kind.values


def app_statuses():
    from calls.models import SfvopiApp

    return SfvopiApp.Status.values


def webhook_kinds():
    from calls.models import WebhookDelivery

    return WebhookDelivery.Kind.values


def webhook_states():
    from calls.models import WebhookDelivery

    return WebhookDelivery.State.values


class AutoSchema(openapi.AutoSchema):
    def get_operation_id(self):
        # Our views are plain APIViews, so spectacular cannot tell a list from a retrieve:
        # a GET whose page or envelope carries many objects ("results", "data") is a list.
        operation_id = super().get_operation_id()
        if self.method == "GET" and self._returns_many():
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        # /api/v1 is the API a client is generated for: its ids read calls_create, apps_partial_update;
        # the Superfone-compatible ones keep an sfvopi_ prefix.
        for prefix, replacement in (("api_v1_", ""), ("superfone_sfvopi_", "sfvopi_")):
            if operation_id.startswith(prefix):
                operation_id = replacement + operation_id.removeprefix(prefix)
        # An action on one object (POST /calls/{id}/hangup) is named by its verb: calls_hangup.
        if self.method == "POST" and self.path.rstrip("/").rsplit("/", 1)[-1] in ACTIONS:
            operation_id = operation_id.removesuffix("_create")
        return operation_id

    def _returns_many(self):
        responses = self.get_response_serializers()
        if isinstance(responses, dict):
            responses = responses.get(200)
        fields = getattr(force_instance(responses), "fields", {})
        return any(isinstance(fields.get(name), serializers.ListSerializer) for name in ("results", "data"))


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """One scheme for X-API-Key, whichever API the operation belongs to."""

    target_class = "tenants.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An organization's API key (`prefix.secret`), shown once when it is created.",
        }
