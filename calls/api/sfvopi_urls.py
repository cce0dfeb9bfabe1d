from django.urls import path

from calls.api import sfvopi

urlpatterns = [
    path("apps", sfvopi.AppListView.as_view()),
    path("apps/<str:app_id>", sfvopi.AppDetailView.as_view()),
    path("apps/<str:app_id>/webhook-secret", sfvopi.AppWebhookSecretView.as_view()),
    path("apps/<str:app_id>/numbers", sfvopi.AppNumbersView.as_view()),
    path("apps/<str:app_id>/numbers/<str:voip_number>", sfvopi.AppNumberDetailView.as_view()),
    path("calls", sfvopi.CallListView.as_view()),
    path("calls/<str:request_uuid>", sfvopi.CallDetailView.as_view()),
]
