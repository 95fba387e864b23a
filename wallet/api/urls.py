from django.urls import path

from coinsite.api import converters
from wallet.api import views

converters.register()

urlpatterns = [
    path("auth/token/", views.AuthTokenView.as_view(), name="api-auth-token"),
    path("wallet/", views.WalletView.as_view(), name="api-wallet"),
    path("wallet/history/", views.WalletHistoryView.as_view(), name="api-wallet-history"),
    path("coins/packages/", views.CoinOffersView.as_view(), name="api-coin-packages"),
    path("coins/purchases/", views.PurchasesView.as_view(), name="api-purchases"),
    path("coins/purchases/<api_id:pk>/", views.PurchaseReceiptView.as_view(), name="api-purchase"),
    path(
        "coins/purchases/<api_id:pk>/confirm/",
        views.ConfirmPurchaseView.as_view(),
        name="api-purchase-confirm",
    ),
    path("reports/", views.ReportsView.as_view(), name="api-reports"),
]
