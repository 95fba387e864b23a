from django.urls import path

from gifts import live_video_views, room_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("live/", views.live_list, name="live-list"),
    path("live/<int:session_id>/", views.live_detail, name="live-detail"),
    path("live/<int:session_id>/gift/", views.live_gift, name="live-gift"),
    path("posts/<int:post_id>/gift/", views.post_gift, name="post-gift"),
    path("studio/live/", views.studio_live, name="studio-live"),
    path("studio/live/<int:session_id>/end/", views.studio_live_end, name="studio-live-end"),
    path("studio/room/", room_views.studio_room, name="studio-room"),
    path("overlay/<str:key>/", room_views.live_overlay, name="live-overlay"),
    path("studio/stream/", live_video_views.studio_stream, name="studio-stream"),
    path("live/rtmp/publish/", live_video_views.rtmp_publish, name="rtmp-publish"),
    path("live/rtmp/publish_done/", live_video_views.rtmp_publish_done, name="rtmp-publish-done"),
]
