from django.urls import path

from gifts import consumers

websocket_urlpatterns = [
    path("ws/live/<int:session_id>/", consumers.LiveSessionConsumer.as_asgi()),
]
