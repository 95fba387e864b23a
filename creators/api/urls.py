from django.urls import path

from coinsite.api import converters
from creators.api import views

converters.register()

urlpatterns = [
    path("creators/<slug:handle>/", views.CreatorProfileView.as_view(), name="api-creator"),
    path("posts/<api_id:pk>/", views.PostDetailView.as_view(), name="api-post"),
    path("posts/<api_id:pk>/unlock/", views.UnlockView.as_view(), name="api-post-unlock"),
    path("merch/<api_id:pk>/", views.MerchDetailView.as_view(), name="api-merch"),
    path("merch/<api_id:pk>/orders/", views.PlaceOrderView.as_view(), name="api-merch-order"),
    path("orders/", views.MyOrdersView.as_view(), name="api-orders"),
    path("orders/<api_id:pk>/", views.OrderDetailView.as_view(), name="api-order"),
    path("orders/<api_id:pk>/cancel/", views.CancelOrderView.as_view(), name="api-order-cancel"),
    path("studio/orders/", views.CreatorOrdersView.as_view(), name="api-studio-orders"),
    path("studio/orders/<api_id:pk>/ship/", views.ShipOrderView.as_view(), name="api-studio-order-ship"),
    path("studio/earnings/", views.EarningsView.as_view(), name="api-studio-earnings"),
    path("studio/payouts/", views.PayoutsView.as_view(), name="api-studio-payouts"),
]
