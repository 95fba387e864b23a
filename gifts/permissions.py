"""The gifts app's staff permissions ("app_label.codename", declared on the models they act on)
and its share of the default staff groups, registered with wallet at start-up
(`register_staff_grants`, from `GiftsConfig.ready`)."""

from __future__ import annotations

from wallet.moderation import groups

END_LIVE_SESSION = "gifts.end_live_session"
MODERATE_CHAT = "gifts.moderate_chat"  # staff delete reported chat messages (gifts.chat)


def register_staff_grants() -> None:
    groups.register_group_permissions(
        groups.MODERATOR,
        [
            END_LIVE_SESSION,
            MODERATE_CHAT,
            "gifts.view_gift",
            "gifts.view_livesession",
            "gifts.view_giftsend",
            "gifts.view_chatmessage",
        ],
    )
    groups.register_group_permissions(groups.FINANCE, ["gifts.view_giftsend"])
