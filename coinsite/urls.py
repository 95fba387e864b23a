from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from wallet import views as wallet_views
from wallet.forms import StaffLoginForm
from wallet.moderation import views as moderation_views

admin.site.login_form = StaffLoginForm

urlpatterns = [
    path(
        "admin/dashboard/",
        admin.site.admin_view(moderation_views.staff_dashboard_view),
        name="staff-dashboard",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("healthz", wallet_views.healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's page has one inline <style> block.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("api/v1/", include("coinsite.api.urls")),
    path("", include("wallet.urls")),
    path("", include("gifts.urls")),
    path("", include("creators.urls")),
]
