from django.urls import path

from coinsite.api import converters
from gifts.api import views

converters.register()

urlpatterns = [
    path("gifts/", views.GiftListView.as_view(), name="api-gifts"),
    path("live/", views.LiveSessionListView.as_view(), name="api-live-sessions"),
    path("live/<api_id:pk>/", views.LiveSessionDetailView.as_view(), name="api-live-session"),
    path("live/<api_id:pk>/gifts/", views.LiveSessionGiftsView.as_view(), name="api-live-session-gifts"),
    path("posts/<api_id:pk>/gifts/", views.PostGiftsView.as_view(), name="api-post-gifts"),
]
