from django.urls import path

from . import views

urlpatterns = [
    path("webhooks/psp/<slug:merchant>", views.PspWebhookView.as_view(), name="psp-webhook"),
]
