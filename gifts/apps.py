from django.apps import AppConfig


class GiftsConfig(AppConfig):
    name = "gifts"

    def ready(self) -> None:
        from gifts import selectors
        from gifts.models import LiveSession
        from gifts.permissions import register_staff_grants
        from wallet.moderation.reports import register_report_target
        from wallet.moderation.selectors import register_dashboard_figures

        register_report_target("live", lambda pk, reporter: LiveSession.objects.filter(pk=pk).first())
        register_dashboard_figures("gifts", selectors.staff_dashboard_figures)
        register_staff_grants()
