"""The REST API, version 1: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("wallet.api.urls")),
    path("", include("gifts.api_urls")),
    path("", include("creators.api_urls")),
]
