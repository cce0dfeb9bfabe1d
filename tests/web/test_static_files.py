"""Static files served by the ASGI server the way it runs in production, without Django's
warning that a streaming response consumes a synchronous iterator."""

import warnings

import pytest
from django.test import AsyncClient, Client

BUNDLE = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


@pytest.mark.asyncio
async def test_asgi_serves_a_static_file_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = await AsyncClient().get(BUNDLE)
        # What the ASGI handler does when it sends a streaming response.
        body = b"".join([chunk async for chunk in response])

    assert response.status_code == 200
    assert b"SwaggerUIBundle" in body


def test_wsgi_still_serves_it_too():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = Client().get(BUNDLE)
        body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert b"SwaggerUIBundle" in body
