"""Payout eligibility in SQL (creators/sql/payouts.sql): `creators_payout_candidates`, which
the batch plans from and the studio shows; it reads wallet's balances through
`wallet_creator_earnings`. The payout's cents CHECK calls `wallet_diamonds_to_cents` instead
of repeating the arithmetic."""

from pathlib import Path

from django.db import migrations, models

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("creators", "0008_diamond_accounts_provisioned"),
        ("wallet", "0015_money_rules_sql"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "payouts.sql").read_text(),
            reverse_sql=(SQL_DIR / "payouts_reverse.sql").read_text(),
        ),
        migrations.RemoveConstraint(model_name="payout", name="payout_cents_match_diamonds"),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "amount_cents",
                        models.Func(
                            models.F("diamonds"),
                            models.F("diamond_value_millicents"),
                            function="wallet_diamonds_to_cents",
                            output_field=models.BigIntegerField(),
                        ),
                    )
                ),
                name="payout_cents_match_diamonds",
            ),
        ),
    ]
