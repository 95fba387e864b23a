from django.urls import path

from gifts import api
from wallet.api import converters

converters.register()

urlpatterns = [
    path("gifts/", api.GiftListView.as_view(), name="api-gifts"),
    path("live/", api.LiveSessionListView.as_view(), name="api-live-sessions"),
    path("live/<api_id:pk>/", api.LiveSessionDetailView.as_view(), name="api-live-session"),
    path("live/<api_id:pk>/gifts/", api.LiveSessionGiftsView.as_view(), name="api-live-session-gifts"),
    path("posts/<api_id:pk>/gifts/", api.PostGiftsView.as_view(), name="api-post-gifts"),
]
