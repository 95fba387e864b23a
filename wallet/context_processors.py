from __future__ import annotations

from django.http import HttpRequest

from wallet.selectors import coin_balance


def wallet(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_coin_balance": lambda: coin_balance(user_id=user.pk)}
