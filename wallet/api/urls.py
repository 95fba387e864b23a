from django.urls import path

from wallet.api import views

urlpatterns = [
    path("wallet/", views.WalletView.as_view(), name="api-wallet"),
]
