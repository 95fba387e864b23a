"""The seeded gift catalogue: (name, coins, emoji), from Rose (1 coin) to Universe (44,999)."""

GIFT_CATALOGUE: list[tuple[str, int, str]] = [
    ("Rose", 1, "🌹"),
    ("Finger Heart", 5, "🫰"),
    ("Doughnut", 30, "🍩"),
    ("Hat and Mustache", 99, "🎩"),
    ("Hand Hearts", 100, "🫶"),
    ("Sunglasses", 199, "🕶️"),
    ("Corgi", 299, "🐶"),
    ("Money Gun", 500, "💸"),
    ("Galaxy", 1000, "🌌"),
    ("Sports Car", 7000, "🏎️"),
    ("Lion", 29999, "🦁"),
    ("Universe", 44999, "🪐"),
]
