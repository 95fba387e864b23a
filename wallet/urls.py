from django.urls import path

from wallet import views
from wallet.moderation import views as moderation_views

urlpatterns = [
    path("me/", views.me, name="me"),
    path("me/tokens/", views.api_tokens, name="me-tokens"),
    path("me/tokens/revoke/", views.revoke_api_tokens, name="me-tokens-revoke"),
]

urlpatterns += [
    path("coins/", views.coins, name="coins"),
    path("coins/pay/<int:purchase_id>/", views.coins_pay, name="coins-pay"),
    path("coins/purchases/", views.purchase_history, name="coins-purchases"),
    path("coins/purchases/<int:purchase_id>/", views.purchase_receipt, name="coins-receipt"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
]

urlpatterns += [
    path("reports/new/", moderation_views.new_report, name="report-new"),
]
