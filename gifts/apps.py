from django.apps import AppConfig


class GiftsConfig(AppConfig):
    name = "gifts"

    def ready(self) -> None:
        from gifts import selectors
        from gifts.models import ChatMessage, LiveSession
        from gifts.permissions import register_staff_grants
        from wallet.moderation.reports import register_report_target
        from wallet.moderation.selectors import register_dashboard_figures

        register_report_target("live", lambda pk, reporter: LiveSession.objects.filter(pk=pk).first())
        # A chat message as the room shows it: deleted ones are gone. The report keeps its text
        # and where it was said (`ChatMessage.__str__`), so staff read it even if it is deleted later.
        register_report_target(
            "chat",
            lambda pk, reporter: (
                ChatMessage.objects.select_related("author", "session")
                .filter(pk=pk, deleted_at__isnull=True)
                .first()
            ),
        )
        register_dashboard_figures("gifts", selectors.staff_dashboard_figures)
        register_staff_grants()
