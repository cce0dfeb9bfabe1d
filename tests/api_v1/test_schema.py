"""The committed docs/openapi.yaml is what the code generates; the docs page works offline."""

from pathlib import Path

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.validation import validate_schema

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate"


def generated_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    return schema


def test_it_matches_the_committed_schema(db):
    generated = OpenApiYamlRenderer().render(generated_schema(), renderer_context={}).decode()

    assert generated == COMMITTED.read_text(), f"docs/openapi.yaml is out of date: run `{REGENERATE}`"


def test_it_documents_every_v1_and_superfone_operation(db):
    paths = generated_schema()["paths"]

    assert all(path.startswith(("/api/v1/", "/superfone/")) for path in paths)
    assert "/api/v1/calls/{request_uuid}/hangup" in paths
    assert "/superfone/sfvopi/calls" in paths
    for path, operations in paths.items():
        if path.startswith("/api/v1/"):
            for operation in operations.values():
                error = operation["responses"]["400"]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, path


ENVELOPES = {"/api/v1/": "Error", "/superfone/sfvopi/": "SfvopiError", "/superfone/api/": "ClickToCallError"}


def test_every_operation_documents_its_errors_in_its_own_envelope(db):
    for path, operations in generated_schema()["paths"].items():
        envelope = next(name for prefix, name in ENVELOPES.items() if path.startswith(prefix))
        for method, operation in operations.items():
            assert {"400", "401"} <= set(operation["responses"]), (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": f"#/components/schemas/{envelope}"}, (method, path, status)


def test_it_names_operations_for_people_and_has_one_api_key_scheme(db):
    schema = generated_schema()
    ids = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}

    assert {"calls_create", "calls_retrieve", "calls_list", "calls_hangup", "apps_partial_update"} <= ids
    assert {"sfvopi_calls_create", "sfvopi_calls_hangup", "click_to_call"} <= ids
    api_key_schemes = [s for s in schema["components"]["securitySchemes"].values() if s.get("name") == "X-API-Key"]
    assert len(api_key_schemes) == 1
    page = schema["components"]["schemas"]["CallPage"]
    assert {"next", "previous", "next_cursor", "results"} <= set(page["properties"])


@pytest.mark.django_db
def test_it_serves_the_schema_and_swagger_ui_from_local_assets(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/calls" in schema.content
    html = docs.content.decode()
    bundle = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    assert bundle in html
    assert "https://" not in html
    assert client.get(bundle).status_code == 200
