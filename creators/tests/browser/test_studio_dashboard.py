"""A creator logs in through the real login page and sees the earnings chart (real Chromium,
the real ASGI app, the test database)."""

from __future__ import annotations

import pytest

from creators import services
from creators.services import earnings as earnings_service
from wallet.models import Transaction
from wallet.selectors import diamond_balance
from wallet.services import spend_coins


@pytest.mark.django_db(transaction=True)
def test_the_creator_sees_the_earnings_chart_after_logging_in(
    asgi_server, browser, screenshot_dir, make_user, fund, make_creator, make_post, monkeypatch
):
    monkeypatch.setattr(earnings_service, "CLOCK_MARGIN", earnings_service.timedelta(0))
    creator = make_creator()
    post = make_post(creator, price=80)
    for i in range(3):
        fan = make_user()
        fund(fan, 1000)
        services.unlock_post(user=fan, post_id=post.pk, idempotency_key=f"browser-unlock-{i}")
        spend_coins(
            spender=fan,
            coins=100 * (i + 1),
            creator_user_id=creator.user_id,
            diamonds=100 * (i + 1),
            kind=Transaction.Kind.GIFT,
            idempotency_key=f"browser-gift-{i}",
        )
    services.roll_up_creator_earnings()
    balance = diamond_balance(user_id=creator.user_id)
    assert balance == 3 * 40 + 600

    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    try:
        page.goto(f"{asgi_server}/accounts/login/?next=/studio/")
        page.fill("input[name=login]", creator.user.email)
        page.fill("input[name=password]", "pw-Secret-123")
        page.click("form[action='/accounts/login/'] button[type=submit]")
        page.wait_for_url(f"{asgi_server}/studio/")
        chart = page.locator("svg[data-testid=earnings-chart]")
        chart.wait_for()
        page.screenshot(path=str(screenshot_dir / "studio.png"), full_page=True)

        bars = chart.locator("rect.bar")
        assert bars.count() == 30
        heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(30)]
        assert sum(1 for h in heights if h > 0) >= 1
        assert bars.nth(29).get_attribute("data-diamonds") == str(balance)
        assert page.locator("[data-testid=diamonds]").inner_text() == f"{balance:,}"
        assert (
            page.locator("[data-testid=cash]").inner_text()
            == f"${balance * 500 // 1000 // 100}.{balance * 500 // 1000 % 100:02d}"
        )
        statement = page.request.get(f"{asgi_server}/studio/statement.csv")  # streamed by the ASGI server
        assert statement.status == 200
        total = statement.text().strip().splitlines()[-1].split(",")
        assert total[0] == "TOTAL" and int(total[-2]) == int(total[-1]) == balance
        page.click("text=90 days")
        page.wait_for_url(f"{asgi_server}/studio/?days=90")
        assert page.locator("svg[data-testid=earnings-chart] rect.bar").count() == 90
    finally:
        page.close()
    assert (screenshot_dir / "studio.png").stat().st_size > 10_000
