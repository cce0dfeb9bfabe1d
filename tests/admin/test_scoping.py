"""Every admin page, as a supervisor: their organization's rows only; another's are absent."""

import pytest

from calls.models import LinkedNumber

pytestmark = pytest.mark.django_db

# admin page -> (the object on it, the text that identifies it in the list)
PAGES = {
    "tenants/organization": (lambda o: o.tenant.organization, lambda o: o.tenant.organization.name),
    "tenants/organizationapikey": (lambda o: o.api_key, lambda o: o.api_key.name),
    "agents/agent": (lambda o: o.rows.agent, lambda o: o.rows.agent.user.username),
    "agents/clicktocallnotification": (lambda o: o.notification, lambda o: o.notification.customer_number),
    "calls/sfvopiapp": (lambda o: o.tenant.app, lambda o: o.tenant.app.app_id),
    "calls/linkednumber": (
        lambda o: LinkedNumber.objects.get(number=o.tenant.from_number),
        lambda o: o.tenant.from_number,
    ),
    "calls/carrieraccount": (lambda o: o.carrier, lambda o: o.carrier.name),
    "calls/call": (lambda o: o.rows.call, lambda o: o.rows.call.request_uuid),
    "calls/webhookdelivery": (lambda o: o.rows.delivery, lambda o: o.rows.delivery.webhook_id),
}


@pytest.mark.parametrize("page", PAGES)
def test_it_lists_only_the_supervisors_organization(supervisor_client, mine, theirs, page):
    _, text = PAGES[page]

    response = supervisor_client.get(f"/admin/{page}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert text(mine) in html
    assert text(theirs) not in html


@pytest.mark.parametrize("page", PAGES)
def test_it_opens_own_rows_but_not_another_organizations(supervisor_client, mine, theirs, page):
    obj, text = PAGES[page]

    own = supervisor_client.get(f"/admin/{page}/{obj(mine).pk}/change/")
    foreign = supervisor_client.get(f"/admin/{page}/{obj(theirs).pk}/change/", follow=True)

    assert own.status_code == 200
    assert text(mine) in own.content.decode()
    assert foreign.redirect_chain[0] == ("/admin/", 302)
    assert "doesn’t exist" in foreign.content.decode()
    assert text(theirs) not in foreign.content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_it_shows_a_superuser_every_organization(superuser_client, mine, theirs, page):
    _, text = PAGES[page]

    html = superuser_client.get(f"/admin/{page}/").content.decode()

    assert text(mine) in html and text(theirs) in html


@pytest.mark.parametrize(
    "page,term",
    [
        ("calls/call", lambda o: o.rows.call.request_uuid),
        ("calls/call", lambda o: o.rows.call.to_number),
        ("agents/agent", lambda o: o.rows.agent.number),
        ("calls/linkednumber", lambda o: o.tenant.from_number),
        ("calls/webhookdelivery", lambda o: o.rows.delivery.webhook_id),
    ],
)
def test_it_searches_only_the_supervisors_organization(supervisor_client, mine, theirs, page, term):
    found = supervisor_client.get(f"/admin/{page}/", {"q": term(mine)})
    hidden = supervisor_client.get(f"/admin/{page}/", {"q": term(theirs)})

    assert found.context["cl"].result_count >= 1
    assert hidden.context["cl"].result_count == 0 or all(
        row.organization_id == mine.tenant.organization.pk for row in hidden.context["cl"].result_list
    )


def test_it_autocompletes_only_the_supervisors_apps(supervisor_client, mine, theirs):
    response = supervisor_client.get(
        "/admin/autocomplete/",
        {"app_label": "calls", "model_name": "linkednumber", "field_name": "app", "term": ""},
    )

    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {str(mine.tenant.app.pk)}


def test_it_refuses_another_organizations_app_as_a_foreign_key_choice(supervisor_client, mine, theirs):
    number = mine.rows.spare_number

    response = supervisor_client.post(
        f"/admin/calls/linkednumber/{number.pk}/change/", {"app": theirs.tenant.app.pk}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    number.refresh_from_db()
    assert number.app_id is None


def test_it_scopes_the_call_list_filters(supervisor_client, mine, theirs):
    html = supervisor_client.get("/admin/calls/call/").content.decode()

    assert theirs.tenant.app.name not in html
    assert theirs.rows.agent.user.username not in html
    assert theirs.tenant.organization.name not in html


def test_it_keeps_memberships_to_superusers(supervisor_client, mine):
    assert supervisor_client.get("/admin/tenants/membership/").status_code == 403
    assert "Memberships" not in supervisor_client.get("/admin/").content.decode()


def test_it_gives_a_staff_user_outside_any_organization_nothing(client, django_user_model, mine):
    client.force_login(django_user_model.objects.create_user(username="temp", password="x" * 12, is_staff=True))

    assert client.get("/admin/calls/call/").status_code == 403
