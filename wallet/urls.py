from django.urls import path

from wallet import views

urlpatterns = [
    path("me/", views.me, name="me"),
]
