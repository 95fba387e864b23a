"""Merch: items, orders (stock never oversold), shipping releases escrow, cancelling reverses."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from creators import errors as creator_errors
from creators import permissions
from creators.models import Creator, MerchItem, Order
from creators.services.posts import MAX_PRICE_COINS
from wallet import errors, idempotency
from wallet.models import Transaction, User
from wallet.moderation import audit
from wallet.selectors import transaction_legs
from wallet.services import (
    Leg,
    check_can_spend,
    creator_share,
    post_transaction,
    release_held_earnings,
    spend_coins,
)

MAX_ORDER_QUANTITY = 10
MAX_STOCK = 1_000_000

CANCEL_PERMISSION = permissions.CANCEL_ORDER
SHIP_PERMISSION = permissions.SHIP_ORDER
ORDER_FIELDS = ("status", "cancel_transaction", "release_transaction", "cancelled_at", "shipped_at")


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postcode: str
    country: str
    line2: str = ""
    region: str = ""


@dataclass(frozen=True)
class OrderResult:
    order: Order
    # False when nothing moved: a replayed request, or the order was already in the target state.
    changed: bool
    message: str
    # A replay of the key of a request that changed the order: `order` and `message` are that
    # request's answer (the order as it was then); nothing moved now.
    replay: bool = False


_SHIPPING_LIMITS = {"name": 120, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20}
_REQUIRED_SHIPPING = ("name", "line1", "city", "postcode")


def _validate_shipping(shipping: ShippingAddress) -> ShippingAddress:
    values = {field: getattr(shipping, field).strip() for field in _SHIPPING_LIMITS}
    for field in _REQUIRED_SHIPPING:
        if not values[field]:
            raise errors.InvalidRequest(
                creator_errors.SHIPPING_FIELD_REQUIRED.format(field=field), code="bad_address"
            )
    for field, limit in _SHIPPING_LIMITS.items():
        if len(values[field]) > limit:
            raise errors.InvalidRequest(
                creator_errors.SHIPPING_FIELD_TOO_LONG.format(field=field, limit=limit), code="bad_address"
            )
    country = shipping.country.strip().upper()
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise errors.InvalidRequest(creator_errors.COUNTRY_INVALID, code="bad_address")
    return ShippingAddress(country=country, **values)


def _check_price(price_coins: int) -> None:
    if not 1 <= price_coins <= MAX_PRICE_COINS:
        raise errors.InvalidRequest(creator_errors.MERCH_PRICE_INVALID.format(max=MAX_PRICE_COINS))


def create_merch_item(
    *,
    creator: Creator,
    name: str,
    description: str,
    price_coins: int,
    stock: int,
    image: UploadedFile | None = None,
) -> MerchItem:
    if not creator.is_approved:
        raise errors.NotAllowed(creator_errors.MERCH_NOT_APPROVED)
    _check_price(price_coins)
    if not 0 <= stock <= MAX_STOCK:
        raise errors.InvalidRequest(creator_errors.STOCK_INVALID.format(max=MAX_STOCK))
    item = MerchItem(
        creator=creator,
        name=name.strip(),
        description=description.strip(),
        price_coins=price_coins,
        stock=stock,
    )
    if image is not None:
        item.image.save(image.name or "image", image, save=False)
    item.save()
    return item


def update_merch_item(
    *,
    item: MerchItem,
    name: str,
    description: str,
    price_coins: int,
    hidden: bool,
    add_stock: int = 0,
    image: UploadedFile | None = None,
) -> MerchItem:
    """Change an item's listing and, relative to what is there now, its stock (one transaction).
    An item staff hid stays hidden: showing it again is refused."""
    _check_price(price_coins)
    with transaction.atomic():
        # Locked, so a staff hide that lands meanwhile is seen here, not overwritten.
        item.hidden_by_staff = (
            MerchItem.objects.select_for_update().values_list("hidden_by_staff", flat=True).get(pk=item.pk)
        )
        if item.hidden_by_staff and not hidden:
            raise errors.NotAllowed(creator_errors.STAFF_HIDDEN, extra={"field": "hidden"})
        if add_stock:
            item.stock = add_merch_stock(item_id=item.pk, quantity=add_stock)
        item.name = name.strip()
        item.description = description.strip()
        item.price_coins = price_coins
        item.hidden = hidden
        if image is not None:
            item.image.save(image.name or "image", image, save=False)
        item.save(update_fields=["name", "description", "price_coins", "hidden", "image"])
    return item


def add_merch_stock(*, item_id: int, quantity: int) -> int:
    """Add (or, negative, remove) stock relative to what is there now; returns the new stock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE creators_merchitem SET stock = stock + %s WHERE id = %s AND stock + %s BETWEEN 0 AND %s RETURNING stock",
            [quantity, item_id, quantity, MAX_STOCK],
        )
        row = cursor.fetchone()
    if row is None:
        raise errors.InvalidRequest(creator_errors.STOCK_CHANGE_INVALID.format(max=MAX_STOCK))
    return int(row[0])


def place_order(
    *,
    buyer: User,
    item_id: int,
    quantity: int,
    shipping: ShippingAddress,
    idempotency_key: str,
    expected_unit_price: int | None = None,
) -> OrderResult:
    """Order merch: take the stock (one conditional UPDATE, never oversold), debit the buyer,
    and hold the creator's share in escrow until the order ships. Replaying the key returns
    the first order as placed and moves nothing; the same key for another item, quantity,
    address or expected price raises IdempotencyConflict."""
    idempotency.check_key(idempotency_key)
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise errors.InvalidRequest(
            creator_errors.BAD_QUANTITY.format(maximum=MAX_ORDER_QUANTITY), code="bad_quantity"
        )
    shipping = _validate_shipping(shipping)
    replay = _replayed_order(buyer, idempotency_key, item_id, quantity, shipping, expected_unit_price)
    if replay is not None:
        return replay
    item = (
        MerchItem.objects.select_related("creator")
        .filter(pk=item_id, hidden=False, creator__status=Creator.Status.APPROVED)
        .first()
    )
    if item is None:
        raise errors.NotFound(creator_errors.ITEM_NOT_FOUND)
    if item.creator.user_id == buyer.pk:
        raise errors.InvalidRequest(creator_errors.OWN_MERCH, code="own_merch")
    check_can_spend(buyer)
    try:
        with transaction.atomic():
            # The one guard against overselling: a single-table conditional UPDATE (it also locks the row,
            # so the price read below cannot change before this order commits).
            taken = MerchItem.objects.filter(pk=item.pk, hidden=False, stock__gte=quantity).update(
                stock=F("stock") - quantity
            )
            if not taken:
                stock = MerchItem.objects.filter(pk=item.pk).values_list("stock", flat=True).first() or 0
                if stock <= 0:
                    raise creator_errors.SoldOut()
                raise creator_errors.SoldOut(creator_errors.NOT_ENOUGH_STOCK.format(stock=stock))
            unit_price = MerchItem.objects.filter(pk=item.pk).values_list("price_coins", flat=True).get()
            if expected_unit_price is not None and expected_unit_price != unit_price:
                raise creator_errors.PriceChanged(creator_errors.PRICE_CHANGED.format(price=unit_price))
            coins = unit_price * quantity
            order = Order.objects.create(
                buyer=buyer,
                item=item,
                quantity=quantity,
                unit_price_coins=unit_price,
                coins=coins,
                diamonds=creator_share(coins),
                ship_name=shipping.name,
                ship_line1=shipping.line1,
                ship_line2=shipping.line2,
                ship_city=shipping.city,
                ship_region=shipping.region,
                ship_postcode=shipping.postcode,
                ship_country=shipping.country,
                idempotency_key=idempotency_key,
            )
            spend = spend_coins(
                spender=buyer,
                coins=coins,
                creator_user_id=item.creator.user_id,
                diamonds=order.diamonds,
                kind=Transaction.Kind.MERCH,
                idempotency_key=f"merch-order-{order.pk}",
                reference=f"order:{order.pk}",
                memo=f"{quantity} × {item.name}"[:255],
                hold_earnings=True,
            )
            order.placed_transaction_id = spend.transaction.id
            order.save(update_fields=["placed_transaction"])
    except IntegrityError:
        # A concurrent request with the same key committed first (the order's unique key).
        replay = _replayed_order(buyer, idempotency_key, item_id, quantity, shipping, expected_unit_price)
        if replay is None:
            raise
        return replay
    return OrderResult(order=order, changed=True, message=creator_errors.ORDER_PLACED.format(coins=coins))


def _order_request(item_id: int, quantity: int, shipping: ShippingAddress) -> str:
    return idempotency.fingerprint("order.place", item_id, quantity, asdict(shipping))


def _replayed_order(
    buyer: User,
    key: str,
    item_id: int,
    quantity: int,
    shipping: ShippingAddress,
    expected_unit_price: int | None,
) -> OrderResult | None:
    """The first answer to `key`, from the order it placed: the order as placed (not as it is
    now), if this request asks for what that order holds; else a conflict."""
    order = Order.objects.filter(buyer=buyer, idempotency_key=key).select_related("item").first()
    if order is None:
        return None
    stored = ShippingAddress(
        name=order.ship_name,
        line1=order.ship_line1,
        line2=order.ship_line2,
        city=order.ship_city,
        region=order.ship_region,
        postcode=order.ship_postcode,
        country=order.ship_country,
    )
    same = _order_request(order.item_id, order.quantity, stored) == _order_request(
        item_id, quantity, shipping
    )
    if not same or expected_unit_price not in (None, order.unit_price_coins):
        raise errors.IdempotencyConflict()
    placed = copy.copy(order)
    placed.status = Order.Status.PLACED
    placed.cancel_transaction_id = placed.release_transaction_id = None
    placed.shipped_at = placed.cancelled_at = None
    return OrderResult(
        order=placed,
        changed=False,
        message=creator_errors.ORDER_PLACED.format(coins=order.coins),
        replay=True,
    )


def _order_for_update(order_id: int) -> Order:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("item__creator")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise errors.NotFound(creator_errors.ORDER_NOT_FOUND)
    return order


def _acting_as_staff(*, owner_id: int, by: User, permission: str, reason: str) -> str | None:
    """None when `by` acts on their own order; otherwise the reason staff with `permission` gave.
    Anyone else is told the order doesn't exist, as for an id that names nothing."""
    if owner_id == by.pk:
        return None
    if not by.is_active or not by.has_perm(permission):
        raise errors.NotFound(creator_errors.ORDER_NOT_FOUND)
    return audit.require_reason(reason)


def _audit_staff_change(
    *, staff: User, action: str, order: Order, reason: str, before: dict[str, object]
) -> None:
    transaction_id = order.cancel_transaction_id if action == "order.cancel" else order.release_transaction_id
    audit.record(
        actor=staff,
        action=action,
        target=order,
        reason=reason,
        before=before,
        after=audit.snapshot(order, ORDER_FIELDS),
        transaction_id=transaction_id,
    )


def _result_snapshot(result: OrderResult) -> dict[str, object]:
    return {
        "order": idempotency.row_snapshot(result.order),
        "changed": result.changed,
        "message": result.message,
    }


def _replayed_result(first: dict[str, object]) -> OrderResult:
    snapshot = first["order"]
    assert isinstance(snapshot, dict)
    return OrderResult(
        order=idempotency.row_from_snapshot(Order, snapshot),
        changed=False,
        message=str(first["message"]),
        replay=bool(first["changed"]),
    )


def cancel_order(
    *, order_id: int, by: User, reason: str = "", idempotency_key: str | None = None
) -> OrderResult:
    """The buyer (or staff with the cancel permission, giving a reason, audited) cancels a placed
    order: the stock comes back and a reversing ledger transaction returns the coins and takes
    the diamonds back out of escrow, exactly once. With `idempotency_key`, a replay of the key
    returns the first answer and the same key for another order or reason raises
    IdempotencyConflict."""
    return idempotency.once(
        user=by,
        key=idempotency_key,
        request=("order.cancel", order_id, reason),
        act=lambda: _cancel_order(order_id=order_id, by=by, reason=reason),
        dump=_result_snapshot,
        load=_replayed_result,
    )


def _cancel_order(*, order_id: int, by: User, reason: str) -> OrderResult:
    with transaction.atomic():
        order = _order_for_update(order_id)
        staff_reason = _acting_as_staff(
            owner_id=order.buyer_id, by=by, permission=CANCEL_PERMISSION, reason=reason
        )
        before = audit.snapshot(order, ORDER_FIELDS)
        if order.status == Order.Status.CANCELLED:
            return OrderResult(order=order, changed=False, message=creator_errors.ALREADY_CANCELLED)
        if order.status == Order.Status.SHIPPED:
            raise errors.WrongState(creator_errors.ORDER_SHIPPED)
        MerchItem.objects.filter(pk=order.item_id).update(stock=F("stock") + order.quantity)
        if order.placed_transaction_id is None:
            raise errors.WrongState(creator_errors.ORDER_NEVER_CHARGED)
        original = transaction_legs(transaction_id=order.placed_transaction_id)
        # The exact mirror of the placing transaction: buyer +coins, coins spent -share, platform
        # revenue -(coins - share), escrow -share, diamond issuance +share.
        legs = [Leg(account_id, -amount) for account_id, amount in original]
        posted = post_transaction(
            kind=Transaction.Kind.MERCH_CANCEL,
            legs=legs,
            idempotency_key=f"merch-cancel-{order.pk}",
            reference=f"order:{order.pk}",
            memo=f"Cancelled: {order.quantity} × {order.item.name}"[:255],
            created_by=by,
        )
        order.status = Order.Status.CANCELLED
        order.cancel_transaction_id = posted.id
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancel_transaction", "cancelled_at"])
        if staff_reason is not None:
            _audit_staff_change(
                staff=by, action="order.cancel", order=order, reason=staff_reason, before=before
            )
    return OrderResult(
        order=order, changed=True, message=creator_errors.ORDER_CANCELLED_REFUNDED.format(coins=order.coins)
    )


def mark_order_shipped(
    *, order_id: int, by: User, reason: str = "", idempotency_key: str | None = None
) -> OrderResult:
    """The item's creator (or staff with the ship permission, giving a reason, audited) marks a
    placed order shipped: its escrowed diamonds are released once. With `idempotency_key`, a
    replay of the key returns the first answer and the same key for another order or reason
    raises IdempotencyConflict."""
    return idempotency.once(
        user=by,
        key=idempotency_key,
        request=("order.ship", order_id, reason),
        act=lambda: _mark_order_shipped(order_id=order_id, by=by, reason=reason),
        dump=_result_snapshot,
        load=_replayed_result,
    )


def _mark_order_shipped(*, order_id: int, by: User, reason: str) -> OrderResult:
    with transaction.atomic():
        order = _order_for_update(order_id)
        staff_reason = _acting_as_staff(
            owner_id=order.item.creator.user_id, by=by, permission=SHIP_PERMISSION, reason=reason
        )
        before = audit.snapshot(order, ORDER_FIELDS)
        if order.status == Order.Status.SHIPPED:
            return OrderResult(order=order, changed=False, message=creator_errors.ALREADY_SHIPPED)
        if order.status == Order.Status.CANCELLED:
            raise errors.WrongState(creator_errors.ORDER_CANCELLED)
        if order.diamonds:
            posted = release_held_earnings(
                creator_user_id=order.item.creator.user_id,
                diamonds=order.diamonds,
                idempotency_key=f"merch-release-{order.pk}",
                reference=f"order:{order.pk}",
            )
            order.release_transaction_id = posted.id
        order.status = Order.Status.SHIPPED
        order.shipped_at = timezone.now()
        order.save(update_fields=["status", "release_transaction", "shipped_at"])
        if staff_reason is not None:
            _audit_staff_change(
                staff=by, action="order.ship", order=order, reason=staff_reason, before=before
            )
    return OrderResult(
        order=order,
        changed=True,
        message=creator_errors.ORDER_SHIPPED_RELEASED.format(id=order.pk, diamonds=order.diamonds),
    )
