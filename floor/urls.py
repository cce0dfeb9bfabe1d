from django.urls import path

from floor import views

urlpatterns = [
    path("", views.dashboard, name="floor"),
    path("state.json", views.dashboard_state, name="floor-state"),
    path("agents/<int:agent_id>/pause", views.agent_pause, name="floor-agent-pause"),
    path("agents/<int:agent_id>/log-out", views.agent_log_out, name="floor-agent-log-out"),
    path("calls/<str:request_uuid>/hang-up", views.call_hang_up, name="floor-call-hang-up"),
    path("reports/", views.reports, name="floor-reports"),
    path("reports/<str:kind>.csv", views.report_csv, name="floor-report-csv"),
]
