"""axe-core (from npm, `make media`) in Chromium on the live page, the OBS overlay, /coins/ and
/studio/: no serious or critical violation. axe is injected by the test only; the site never
serves it. The contexts bypass the Content-Security-Policy for that injection alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from creators.models import Creator
from gifts import chat, overlay
from gifts.models import LiveSession
from gifts.tests.browser.test_live_page import log_in

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.django_db(transaction=True)
def test_the_live_page_overlay_coins_and_studio_have_no_serious_axe_violation(
    asgi_server: str,
    browser: Any,
    screenshot_dir: Path,
    make_user: Callable[..., Any],
    creator: Creator,
    live_session: LiveSession,
) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core not installed at {AXE}: `make media` installs it from npm.")
    viewer = make_user("alice@example.com", display_name="Alice")
    chat.post_message(author=viewer, session_id=live_session.pk, text="hello")
    key = overlay.issue_overlay_key(creator=creator)
    found: dict[str, list[dict[str, Any]]] = {}
    for who, user, paths in (
        ("viewer", viewer, [f"/live/{live_session.pk}/", "/coins/"]),
        ("creator", creator.user, ["/studio/", f"/live/{live_session.pk}/", "/overlay/<key>/"]),
    ):
        context = browser.new_context(bypass_csp=True, viewport={"width": 1200, "height": 1000})
        try:
            page = log_in(context, asgi_server, user.email)
            for path in paths:
                page.goto(f"{asgi_server}{path.replace('<key>', key)}")
                if "/live/" in path or "/overlay/" in path:
                    page.wait_for_selector("[data-live-session][data-connected]", timeout=5000)
                    page.wait_for_selector("[data-chat-log] li, [data-overlay]", timeout=3000)
                found[f"{who} {path}"] = serious_violations(page)
        finally:
            context.close()
    (screenshot_dir / "axe.json").write_text(json.dumps(found, indent=2))
    assert all(not v for v in found.values()), json.dumps(found, indent=2)
