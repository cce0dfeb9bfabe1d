from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from agents import api_desk
from agents import api_v1 as agents_v1
from calls.api.sfvopi import not_found as sfvopi_not_found
from calls.api.v1 import urls as calls_v1
from calls.api.v1.views import not_found

# Admin's "View site" link goes to the front door, which sends each login where it belongs.
admin.site.site_url = "/"

api_v1 = [*calls_v1.urlpatterns, *agents_v1.urlpatterns, *api_desk.urlpatterns, re_path(r"", not_found)]

urlpatterns = [
    path("admin/floor/", include("floor.urls")),
    path("admin/", admin.site.urls),
    path("superfone/sfvopi/", include("calls.api.sfvopi_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("webhooks/", include("calls.api.callback_urls")),
    path("", include("agents.urls")),
    re_path(r"^superfone/", sfvopi_not_found),
]
