"""Escrow and payouts-in-flight take deferred posting like the other system accounts, so
merch orders and payouts no longer queue on one row lock."""

from django.db import migrations


def to_deferred(apps, schema_editor):
    Account = apps.get_model("wallet", "Account")
    Account.objects.filter(owner__isnull=True, kind__in=["escrow", "payouts_in_flight"]).update(posting="deferred")


def to_strict(apps, schema_editor):
    Account = apps.get_model("wallet", "Account")
    Account.objects.filter(owner__isnull=True, kind__in=["escrow", "payouts_in_flight"]).update(posting="strict")


class Migration(migrations.Migration):
    dependencies = [("wallet", "0006_staff_groups")]

    operations = [migrations.RunPython(to_deferred, to_strict)]
