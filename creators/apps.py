from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self) -> None:
        from creators import selectors
        from creators.payouts import selectors as payout_selectors
        from creators.payouts.reversals import register_webhook_handlers
        from creators.permissions import register_staff_grants
        from wallet.moderation.reports import register_report_target
        from wallet.moderation.selectors import register_dashboard_figures

        register_webhook_handlers()
        register_staff_grants()
        # A report sees what the reporter's page would: hidden posts and merch are not there.
        register_report_target(
            "post", lambda pk, reporter: selectors.visible_post(post_id=pk, viewer=reporter)
        )
        register_report_target(
            "merch", lambda pk, reporter: selectors.visible_merch(item_id=pk, viewer=reporter)
        )
        register_dashboard_figures("payouts", payout_selectors.staff_dashboard_figures)
