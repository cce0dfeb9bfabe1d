"""/api/v1's agent endpoints (what every /api/v1 view shares is tenants/api.py)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from agents import selectors, serializers, services, states
from agents.selectors import agent_state
from calls import selectors as call_selectors
from tenants.api import PAGE_PARAMETERS, V1View, id_parameter, page_of, responses


class AgentListView(V1View):
    @extend_schema(
        tags=["Agents"],
        summary="List agents with their current state",
        parameters=PAGE_PARAMETERS,
        responses=responses({200: page_of(serializers.AgentSerializer)}),
    )
    def get(self, request):
        return self.page(selectors.agent_list(organization=self.organization), serializers.AgentSerializer, ("id",))

    @extend_schema(
        tags=["Agents"],
        summary="Create an agent and its console login",
        request=serializers.AgentCreateSerializer,
        responses=responses({201: serializers.AgentSerializer}, 409, 415),
    )
    def post(self, request):
        data = self.validated(serializers.AgentCreateSerializer)
        agent = services.agent_enroll(organization=self.organization, **data)
        agent = selectors.agent_get(organization=self.organization, agent_id=agent.pk)
        return Response(serializers.AgentSerializer(agent).data, status=status.HTTP_201_CREATED)


AGENT_ID = id_parameter("agent_id", "The agent's id")


class AgentDetailView(V1View):
    @extend_schema(
        tags=["Agents"], parameters=[AGENT_ID], summary="One agent", responses=responses({200: serializers.AgentSerializer}, 404)
    )
    def get(self, request, agent_id):
        return Response(serializers.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent_id)).data)

    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="Change an agent's number or flags",
        request=serializers.AgentUpdateSerializer,
        responses=responses({200: serializers.AgentSerializer}, 404, 409, 415),
    )
    def patch(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        services.agent_update(agent=agent, **self.validated(serializers.AgentUpdateSerializer))
        return Response(serializers.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent.pk)).data)


class AgentDeactivateView(V1View):
    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="Deactivate an agent (a live call runs to its end)",
        request=None,
        responses=responses({200: serializers.AgentSerializer}, 404),
    )
    def post(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        services.agent_deactivate(agent=agent)
        return Response(serializers.AgentSerializer(selectors.agent_get(organization=self.organization, agent_id=agent.pk)).data)


def _state_shown(organization, agent) -> dict:
    """An agent's state as /api/v1 shows it, with the live call."""
    call = None
    if agent.live_call_uuid:
        call = call_selectors.call_get(organization=organization, request_uuid=agent.live_call_uuid)
    public = states.state_public(selectors.agent_open_state(agent=agent), agent=agent)
    public["state"] = agent_state(agent=agent)
    return serializers.AgentStateSerializer({**public, "call": call}).data


class AgentStateView(V1View):
    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="An agent's current state and live call",
        responses=responses({200: serializers.AgentStateSerializer}, 404),
    )
    def get(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        return Response(_state_shown(self.organization, agent))

    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        summary="Set an agent's state: available, paused (with a pause reason) or offline",
        request=serializers.AgentStateSetSerializer,
        responses=responses({200: serializers.AgentStateSerializer}, 404, 409),
    )
    def put(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        data = self.validated(serializers.AgentStateSetSerializer)
        states.agent_state_set(agent=agent, state=data["state"], pause_reason_id=data.get("pause_reason_id"))
        agent = selectors.agent_get(organization=self.organization, agent_id=agent.pk)
        return Response(_state_shown(self.organization, agent))


class AgentWrapUpExtendView(V1View):
    @extend_schema(
        tags=["Agents"],
        parameters=[AGENT_ID],
        request=None,
        summary="Extend an agent's timed wrap-up by the organization's wrap-up time (once per wrap-up)",
        responses=responses({200: serializers.AgentStateSerializer}, 404, 409),
    )
    def post(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        states.wrap_up_extend(agent=agent)
        agent = selectors.agent_get(organization=self.organization, agent_id=agent.pk)
        return Response(_state_shown(self.organization, agent))


urlpatterns = [
    path("agents", AgentListView.as_view()),
    path("agents/<str:agent_id>", AgentDetailView.as_view()),
    path("agents/<str:agent_id>/deactivate", AgentDeactivateView.as_view()),
    path("agents/<str:agent_id>/state", AgentStateView.as_view()),
    path("agents/<str:agent_id>/wrap-up/extend", AgentWrapUpExtendView.as_view()),
]
