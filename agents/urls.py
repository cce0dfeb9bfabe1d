from django.contrib.auth import views as auth_views
from django.urls import path

from agents import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("superfone/api/customer/click-2-call", api.ClickToCallView.as_view(), name="click-to-call"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", views.console, name="console"),
    path("console/state", views.console_state, name="console-state"),
    path("console/start", views.console_start, name="console-start"),
    path("console/end", views.console_end, name="console-end"),
    path("wallboard/", views.wallboard, name="wallboard"),
    path("wallboard/state", views.wallboard_state, name="wallboard-state"),
]
