from django.contrib.auth import views as auth_views
from django.urls import path

from agents import api, demo_receiver, views

urlpatterns = [
    path("", views.home, name="home"),
    path("superfone/api/customer/click-2-call", api.ClickToCallView.as_view(), name="click-to-call"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", views.console, name="console"),
    path("console/state", views.console_state, name="console-state"),
    path("console/start", views.console_start, name="console-start"),
    path("console/end", views.console_end, name="console-end"),
    path("console/agent-state", views.console_agent_state, name="console-agent-state"),
    path("console/wrap-up/extend", views.console_wrap_up_extend, name="console-wrap-up-extend"),
    path("console/disposition", views.console_disposition, name="console-disposition"),
    path("console/pop", views.console_pop, name="console-pop"),
    path("console/history", views.console_history, name="console-history"),
    path("console/contacts", views.console_contacts, name="console-contacts"),
    path("console/callbacks", views.console_callback, name="console-callback"),
    path("console/callbacks/<int:callback_id>/take", views.console_callback_take, name="console-callback-take"),
    path("console/callbacks/<int:callback_id>/done", views.console_callback_done, name="console-callback-done"),
    path("wallboard/", views.wallboard, name="wallboard"),
    path("demo/webhooks/<str:kind>", demo_receiver.demo_webhook, name="demo-webhook"),
    path("wallboard/state", views.wallboard_state, name="wallboard-state"),
]
