from django.urls import path

from creators.api import views

urlpatterns = [
    path("posts/<int:pk>/", views.PostDetailView.as_view(), name="api-post"),
    path("posts/<int:pk>/unlock/", views.UnlockView.as_view(), name="api-post-unlock"),
    path("merch/<int:pk>/", views.MerchDetailView.as_view(), name="api-merch"),
    path("merch/<int:pk>/orders/", views.PlaceOrderView.as_view(), name="api-merch-order"),
    path("orders/", views.MyOrdersView.as_view(), name="api-orders"),
    path("orders/<int:pk>/cancel/", views.CancelOrderView.as_view(), name="api-order-cancel"),
    path("studio/orders/", views.CreatorOrdersView.as_view(), name="api-studio-orders"),
    path("studio/orders/<int:pk>/ship/", views.ShipOrderView.as_view(), name="api-studio-order-ship"),
    path("studio/earnings/", views.EarningsView.as_view(), name="api-studio-earnings"),
]
