"""The seeded coin packages: (coins, price in USD cents)."""

COIN_PACKAGES: list[tuple[int, int]] = [
    (70, 99),
    (350, 499),
    (700, 999),
    (1400, 1999),
    (3500, 4999),
    (7000, 9999),
    (17500, 24999),
]
