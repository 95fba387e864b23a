from django.urls import path

from creators import views
from creators.payouts import views as payout_views

app_name = "creators"

urlpatterns = [
    path("creators/apply/", views.apply, name="apply"),
    path("c/<slug:handle>/", views.profile, name="profile"),
    path("posts/<int:pk>/", views.post_detail, name="post"),
    path("posts/<int:pk>/unlock/", views.post_unlock, name="post-unlock"),
    path("posts/<int:pk>/file/", views.post_file, name="post-file"),
    path("merch/<int:pk>/", views.merch_detail, name="merch"),
    path("merch/<int:pk>/order/", views.merch_order, name="merch-order"),
    path("merch/<int:pk>/image/", views.merch_image, name="merch-image"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order-cancel"),
    path("me/library/", views.library, name="library"),
    path("studio/", views.studio, name="studio"),
    path("studio/statement.csv", views.statement_csv, name="statement"),
    path("studio/payouts/", payout_views.studio_payouts, name="studio-payouts"),
    path("studio/posts/new/", views.studio_post_new, name="studio-post-new"),
    path("studio/merch/", views.studio_merch, name="studio-merch"),
    path("studio/merch/new/", views.studio_merch_new, name="studio-merch-new"),
    path("studio/merch/<int:pk>/edit/", views.studio_merch_edit, name="studio-merch-edit"),
    path("studio/orders/", views.studio_orders, name="studio-orders"),
    path("studio/orders/<int:pk>/ship/", views.studio_order_ship, name="studio-order-ship"),
]
