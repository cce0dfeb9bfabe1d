from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("superfone/sfvopi/", include("calls.api.sfvopi_urls")),
    path("api/v1/", include("calls.api.v1.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/", include("calls.api.callback_urls")),
    path("", include("agents.urls")),
]
