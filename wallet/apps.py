from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = "Wallet and ledger"

    def ready(self) -> None:
        from wallet.models import User
        from wallet.moderation.groups import sync_after_migrate
        from wallet.moderation.reports import register_report_target
        from wallet.services import provision_after_migrate

        register_report_target("user", lambda pk, reporter: User.objects.filter(pk=pk).first())
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="wallet-staff-groups")
        post_migrate.connect(provision_after_migrate, sender=self, dispatch_uid="wallet-system-accounts")
