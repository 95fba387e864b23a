from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = "Wallet and ledger"

    def ready(self) -> None:
        from wallet.moderation.groups import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="wallet-staff-groups")
