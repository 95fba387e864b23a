"""The REST API, version 1: each app contributes its own routes; anything else under
/api/v1/ is a JSON 404 in the API's error body (never Django's HTML page)."""

from django.urls import include, path, re_path

from wallet.api.views import UnknownEndpointView

urlpatterns = [
    path("", include("wallet.api.urls")),
    path("", include("gifts.api.urls")),
    path("", include("creators.api.urls")),
    re_path(r"", UnknownEndpointView.as_view(), name="api-unknown"),
]
