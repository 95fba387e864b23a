from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self) -> None:
        from creators.payouts.reversals import register_webhook_handlers

        register_webhook_handlers()
