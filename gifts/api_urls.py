from django.urls import path

from gifts import api

urlpatterns = [
    path("gifts/", api.GiftListView.as_view(), name="api-gifts"),
    path("live/", api.LiveSessionListView.as_view(), name="api-live-sessions"),
    path("live/<int:pk>/", api.LiveSessionDetailView.as_view(), name="api-live-session"),
    path("live/<int:pk>/gifts/", api.LiveSessionGiftsView.as_view(), name="api-live-session-gifts"),
    path("posts/<int:pk>/gifts/", api.PostGiftsView.as_view(), name="api-post-gifts"),
]
