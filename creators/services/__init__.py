"""Writes of the creators app, split by sub-domain; import them from here."""

from creators.services.earnings import rebuild_creator_earnings, roll_up_creator_earnings
from creators.services.merch import (
    OrderResult,
    ShippingAddress,
    add_merch_stock,
    cancel_order,
    create_merch_item,
    mark_order_shipped,
    place_order,
    update_merch_item,
)
from creators.services.onboarding import apply_for_creator, approve_creator, reject_creator
from creators.services.posts import UnlockResult, publish_post, unlock_post

__all__ = [
    "OrderResult",
    "ShippingAddress",
    "UnlockResult",
    "add_merch_stock",
    "apply_for_creator",
    "approve_creator",
    "cancel_order",
    "create_merch_item",
    "mark_order_shipped",
    "place_order",
    "publish_post",
    "rebuild_creator_earnings",
    "reject_creator",
    "roll_up_creator_earnings",
    "unlock_post",
    "update_merch_item",
]
