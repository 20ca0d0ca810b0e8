from django.urls import path

from . import api

urlpatterns = [
    path("webhooks/", api.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<uuid:webhook_id>/", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:webhook_id>/deliveries/",
        api.DeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path("webhooks/<uuid:webhook_id>/test/", api.WebhookTestView.as_view(), name="webhook-test"),
]
