"""/api/v1 for the agent's desk: click-to-call for an agent, contacts, dispositions, callbacks.

For CRMs that embed their own agent UI. Agent state read and set is in agents/api_v1.py.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.response import Response

from agents import desk, selectors, serializers, services
from agents.models import Agent, Callback
from calls.api.v1 import serializers as v1
from tenants.api import PAGE_PARAMETERS, V1View, id_parameter, page_of, responses

AGENT_ID = id_parameter("agent_id", "The agent's id")
CONTACT_ID = id_parameter("contact_id", "The contact's id")


class AgentCallView(V1View):
    @extend_schema(
        tags=["Desk"],
        parameters=[AGENT_ID],
        summary="Click-to-call for an agent: ring the agent, then the customer (agent must be available)",
        request=serializers.AgentCallSerializer,
        responses=responses({201: v1.CallSerializer}, 404, 409, 422),
    )
    def post(self, request, agent_id):
        agent = selectors.agent_get(organization=self.organization, agent_id=agent_id)
        data = self.validated(serializers.AgentCallSerializer)
        call = services.agent_click_to_call(agent=agent, customer_number=data["to"])
        return Response(v1.CallSerializer(call).data, status=status.HTTP_201_CREATED)


class PauseReasonListView(V1View):
    @extend_schema(tags=["Desk"], summary="The organization's pause reasons",
                   responses=responses({200: serializers.NamedSerializer(many=True)}))
    def get(self, request):
        reasons = selectors.organization_pause_reasons(organization_id=self.organization.pk)
        return Response(serializers.NamedSerializer(reasons, many=True).data)


class DispositionListView(V1View):
    @extend_schema(tags=["Desk"], summary="The organization's dispositions (call outcomes)",
                   responses=responses({200: serializers.DispositionChoiceSerializer(many=True)}))
    def get(self, request):
        rows = selectors.organization_dispositions(organization_id=self.organization.pk)
        return Response(serializers.DispositionChoiceSerializer(rows, many=True).data)


class CallDispositionView(V1View):
    @extend_schema(tags=["Desk"], summary="A call's disposition and note",
                   responses=responses({200: serializers.CallDispositionSerializer}, 404))
    def get(self, request, request_uuid):
        row = selectors.call_disposition_get(organization_id=self.organization.pk, call_uuid=request_uuid)
        return Response(desk.disposition_public(row))

    @extend_schema(
        tags=["Desk"],
        summary="Set (or correct) a finished call's disposition and note",
        request=serializers.CallDispositionWriteSerializer,
        responses=responses({200: serializers.CallDispositionSerializer}, 404, 409),
    )
    def put(self, request, request_uuid):
        data = self.validated(serializers.CallDispositionWriteSerializer)
        row = desk.call_disposition_set(agent=None, organization=self.organization, call_uuid=request_uuid,
                                        disposition_id=data["disposition_id"], note=data["note"])
        return Response(desk.disposition_public(row))


class ContactListView(V1View):
    @extend_schema(
        tags=["Desk"],
        summary="List or search contacts",
        parameters=[serializers.ContactSearchSerializer, *PAGE_PARAMETERS],
        responses=responses({200: page_of(serializers.ContactSerializer)}),
    )
    def get(self, request):
        query = self.validated(serializers.ContactSearchSerializer, data=request.query_params).get("q", "")
        contacts = selectors.contact_search(organization_id=self.organization.pk, query=query)
        return self.page(contacts, serializers.ContactSerializer, ("name", "id"))

    @extend_schema(
        tags=["Desk"],
        summary="Create a contact",
        request=serializers.ContactWriteSerializer,
        responses=responses({201: serializers.ContactSerializer}, 409),
    )
    def post(self, request):
        data = self.validated(serializers.ContactWriteSerializer)
        contact = desk.contact_save(organization=self.organization, **data)
        contact = selectors.contact_get(organization_id=self.organization.pk, contact_id=contact.pk)
        return Response(serializers.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetailView(V1View):
    @extend_schema(tags=["Desk"], parameters=[CONTACT_ID], summary="One contact",
                   responses=responses({200: serializers.ContactSerializer}, 404))
    def get(self, request, contact_id):
        contact = selectors.contact_get(organization_id=self.organization.pk, contact_id=contact_id)
        return Response(serializers.ContactSerializer(contact).data)

    @extend_schema(
        tags=["Desk"],
        parameters=[CONTACT_ID],
        summary="Replace a contact",
        request=serializers.ContactWriteSerializer,
        responses=responses({200: serializers.ContactSerializer}, 404, 409),
    )
    def put(self, request, contact_id):
        contact = selectors.contact_get(organization_id=self.organization.pk, contact_id=contact_id)
        data = self.validated(serializers.ContactWriteSerializer)
        desk.contact_save(organization=self.organization, contact=contact, **data)
        contact = selectors.contact_get(organization_id=self.organization.pk, contact_id=contact.pk)
        return Response(serializers.ContactSerializer(contact).data)

    @extend_schema(tags=["Desk"], parameters=[CONTACT_ID], summary="Delete a contact",
                   responses=responses({204: None}, 404))
    def delete(self, request, contact_id):
        desk.contact_delete(contact=selectors.contact_get(organization_id=self.organization.pk, contact_id=contact_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CallbackFilterSerializer(drf_serializers.Serializer):
    agent_id = drf_serializers.IntegerField(required=False, min_value=1, max_value=v1.MAX_ID)
    status = drf_serializers.ChoiceField(choices=Callback.Status.values, required=False)
    anyone = drf_serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="true: only those left for any agent and not taken; false: only held ones")


class CallbackView(V1View):
    def holder(self, data: dict) -> Agent | None:
        """The agent `agent_id` names, or None for `anyone` (both taken out of `data`)."""
        agent_id, anyone = data.pop("agent_id", None), data.pop("anyone")
        return None if anyone else selectors.agent_get(organization=self.organization, agent_id=agent_id)


class CallbackListView(CallbackView):
    @extend_schema(
        tags=["Desk"],
        summary="List scheduled callbacks, soonest first",
        parameters=[CallbackFilterSerializer, *PAGE_PARAMETERS],
        responses=responses({200: page_of(serializers.CallbackSerializer)}),
    )
    def get(self, request):
        # Query strings come in as a plain dict, so an empty filter is refused, not ignored.
        filters = self.validated(CallbackFilterSerializer, data=request.query_params.dict())
        rows = selectors.callback_search(organization_id=self.organization.pk, **filters)
        return self.page(rows, serializers.CallbackSerializer, ("due_at", "id"))

    @extend_schema(
        tags=["Desk"],
        summary="Schedule a callback for an agent, or for any agent of the organization",
        request=serializers.CallbackWriteSerializer,
        responses=responses({201: serializers.CallbackSerializer}, 404),
    )
    def post(self, request):
        data = self.validated(serializers.CallbackWriteSerializer)
        agent = self.holder(data)
        callback = desk.callback_schedule(organization_id=self.organization.pk, agent=agent, **data)
        return Response(desk.callback_public(callback, time_zone=self.organization.time_zone),
                        status=status.HTTP_201_CREATED)


class CallbackReassignView(CallbackView):
    @extend_schema(tags=["Desk"], parameters=[id_parameter("callback_id", "The callback's id")],
                   summary="Give a callback to another agent, or leave it for any agent; pending again",
                   request=serializers.CallbackReassignSerializer,
                   responses=responses({200: serializers.CallbackSerializer}, 404))
    def post(self, request, callback_id):
        data = self.validated(serializers.CallbackReassignSerializer)
        callback = selectors.callback_get(organization_id=self.organization.pk, callback_id=callback_id)
        callback = desk.callback_reassign(callback=callback, agent=self.holder(data), due_at=data.get("due_at"))
        return Response(desk.callback_public(callback, time_zone=self.organization.time_zone))


class CallbackDoneView(V1View):
    @extend_schema(tags=["Desk"], parameters=[id_parameter("callback_id", "The callback's id")],
                   summary="Mark a callback done", request=None,
                   responses=responses({200: serializers.CallbackSerializer}, 404))
    def post(self, request, callback_id):
        callback = desk.callback_done(organization_id=self.organization.pk, callback_id=callback_id)
        return Response(desk.callback_public(callback, time_zone=self.organization.time_zone))


urlpatterns = [
    path("agents/<str:agent_id>/calls", AgentCallView.as_view()),
    path("pause-reasons", PauseReasonListView.as_view()),
    path("dispositions", DispositionListView.as_view()),
    path("calls/<str:request_uuid>/disposition", CallDispositionView.as_view()),
    path("contacts", ContactListView.as_view()),
    path("contacts/<str:contact_id>", ContactDetailView.as_view()),
    path("callbacks", CallbackListView.as_view()),
    path("callbacks/<int:callback_id>/reassign", CallbackReassignView.as_view()),
    path("callbacks/<int:callback_id>/done", CallbackDoneView.as_view()),
]
