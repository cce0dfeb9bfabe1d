from django.urls import path

from calls.api import callbacks

urlpatterns = [
    path(
        "<str:kind>/<str:token>/<str:request_uuid>/<str:event>/",
        callbacks.carrier_callback,
        name="carrier-callback",
    ),
]
