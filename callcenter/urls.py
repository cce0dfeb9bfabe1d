from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("superfone/sfvopi/", include("calls.api.sfvopi_urls")),
    path("webhooks/", include("calls.api.callback_urls")),
    path("", include("agents.urls")),
]
