from django.urls import path

from calls.api.v1 import views

urlpatterns = [
    path("calls", views.CallListView.as_view()),
    path("calls/<str:request_uuid>", views.CallDetailView.as_view()),
    path("calls/<str:request_uuid>/hangup", views.CallHangupView.as_view()),
    path("apps", views.AppListView.as_view()),
    path("apps/<str:app_id>", views.AppDetailView.as_view()),
    path("numbers", views.NumberListView.as_view()),
    path("numbers/<str:number_id>", views.NumberDetailView.as_view()),
    path("numbers/<str:number_id>/link", views.NumberLinkView.as_view()),
    path("numbers/<str:number_id>/unlink", views.NumberUnlinkView.as_view()),
    path("recordings", views.RecordingListView.as_view()),
    path("recordings/<str:recording_id>", views.RecordingDetailView.as_view()),
    path("recordings/<str:recording_id>/audio", views.RecordingAudioView.as_view()),
    path("do-not-call", views.DoNotCallListView.as_view()),
    path("do-not-call/<str:number>", views.DoNotCallDetailView.as_view()),
    path("webhook-deliveries", views.WebhookDeliveryListView.as_view()),
    path("webhook-deliveries/<str:webhook_id>/redeliver", views.WebhookDeliveryRedeliverView.as_view()),
]
