"""The money rules that exist in SQL as well as Python (wallet/sql/money.sql) agree with their
one Python definition in wallet.earnings, value for value, rounding edges included."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from wallet.earnings import diamonds_covering, diamonds_to_cents

pytestmark = pytest.mark.django_db

RATES = [1, 3, 7, 250, 300, 333, 499, 500, 501, 999, 1_000, 1_001, 1_500, 12_345]


def _values() -> list[int]:
    edges = {0, 1, 2, 3, 999, 1_000, 1_001, 1_999, 2_000, 2_001, 10**12, 2**40 + 1}
    for rate in RATES:
        # Around each multiple where the rounded result steps.
        for k in (1, 2, 3, 7, 1_000):
            step = 1_000 * k // rate
            edges.update({step - 1, step, step + 1, k * rate - 1, k * rate, k * rate + 1})
    rng = random.Random(14)
    edges.update(rng.randrange(0, 10**9) for _ in range(300))
    values = sorted(v for v in edges if v >= 0)
    return values + [-v for v in values if v]


def _sql(function: str, pairs: list[tuple[int, int]]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(v, r) FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS x(v, r, n)"
            " ORDER BY n",
            [[v for v, _ in pairs], [r for _, r in pairs]],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def test_diamonds_to_cents_in_sql_is_the_python_rule():
    pairs = [(v, r) for r in RATES for v in _values()]

    got = _sql("wallet_diamonds_to_cents", pairs)

    assert len(pairs) > 10_000
    assert got == [diamonds_to_cents(v, r) for v, r in pairs]


def test_diamonds_covering_in_sql_is_the_python_rule():
    pairs = [(v, r) for r in RATES for v in _values()]

    got = _sql("wallet_diamonds_covering", pairs)

    assert got == [diamonds_covering(v, r) for v, r in pairs]


@pytest.mark.parametrize("rate", RATES)
def test_the_diamonds_covering_some_cents_are_worth_exactly_those_cents(rate):
    for cents in range(0, 3_000):
        diamonds = diamonds_covering(cents, rate)
        assert diamonds_to_cents(diamonds, rate) == cents or rate > 1_000
        assert diamonds == 0 or diamonds_to_cents(diamonds - 1, rate) < cents


def test_known_values():
    # 2,001 diamonds at 500 millicents are $10.00 and one diamond left over.
    assert diamonds_to_cents(2_001, 500) == 1_000
    assert diamonds_covering(1_000, 500) == 2_000
    assert diamonds_to_cents(3_335, 300) == 1_000 and diamonds_covering(1_000, 300) == 3_334
    assert _sql("wallet_diamonds_to_cents", [(2_001, 500), (-1, 500)]) == [1_000, -1]
