"""Superfone's Click-to-Call API (docs/providers.md, "Superfone click-to-call").

`GET /superfone/api/customer/click-2-call?customer_number=&user_number=&call_action=START|END`
with `X-API-Key`. Success is `{"data": {"notificationID", "sentSuccess"}, "message": "success"}`;
every error leaves through `click_to_call_exception_handler` as `{"message": ...}`.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors, services
from agents.models import ClickToCallNotification
from calls.api.throttling import CallCreateThrottle
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.api import click_to_call_responses
from tenants.auth import ApiKeyAuthentication
from tenants.errors import InvalidRequest, ServiceError, click_to_call_exception_handler

USER_NOT_FOUND = "User not found"


def _parse(query):
    errors = {}
    numbers = {}
    for name in ("customer_number", "user_number"):
        try:
            numbers[name] = to_e164(query.get(name), strict=True)
        except InvalidPhoneNumber as exc:
            errors[name] = [str(exc)]
    action = (query.get("call_action") or ClickToCallNotification.Action.START).upper()
    if action not in ClickToCallNotification.Action.values:
        errors["call_action"] = ["call_action must be START or END."]
    if errors:
        raise InvalidRequest(errors)
    return numbers["customer_number"], numbers["user_number"], action


class ClickToCallView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = []

    def get_exception_handler(self):
        return click_to_call_exception_handler

    def get_throttles(self):
        starts_a_call = (self.request.query_params.get("call_action") or "START").upper() == "START"
        return [CallCreateThrottle()] if starts_a_call else []

    @extend_schema(
        tags=["Click-to-call"],
        summary="Start or end a call between a team member and a customer",
        parameters=[
            OpenApiParameter("customer_number", str, required=True, description="E.164, e.g. +918000000001"),
            OpenApiParameter("user_number", str, required=True, description="The agent's number, E.164"),
            OpenApiParameter("call_action", str, enum=["START", "END"], description="Default START"),
        ],
        operation_id="click_to_call",
        responses=click_to_call_responses(
            {
                200: inline_serializer(
                    name="ClickToCallEnvelope",
                    fields={
                        "data": inline_serializer(
                            name="ClickToCallResult",
                            fields={
                                "notificationID": serializers.IntegerField(),
                                "sentSuccess": serializers.BooleanField(
                                    help_text="One of the agent's consoles was seen in the last 75 seconds"
                                ),
                            },
                        ),
                        "message": serializers.CharField(default="success"),
                    },
                )
            }
        ),
    )
    def get(self, request):
        customer_number, user_number, action = _parse(request.query_params)
        agent = selectors.agent_by_number(organization=request.auth.organization, number=user_number)
        if agent is None:
            raise ServiceError(USER_NOT_FOUND, status=404, code="user_not_found")
        notification = services.click_to_call_request(agent=agent, action=action, customer_number=customer_number)
        return Response(
            {
                "data": {"notificationID": notification.pk, "sentSuccess": notification.sent_success},
                "message": "success",
            }
        )
