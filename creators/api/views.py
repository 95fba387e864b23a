"""REST API for premium posts, merch orders and creator earnings: one view per operation,
an input serializer, one service or selector call, an output serializer. Errors are the
domain errors rendered by coinsite.api.errors.exception_handler as {"code", "message", "extra"}."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coinsite.api.fields import TextField, WholeNumberField
from coinsite.api.idempotency import IDEMPOTENCY_HEADER_PARAMETER, idempotency_key
from coinsite.api.permissions import IsAdult
from coinsite.api.schema import error_responses
from creators import errors as creator_errors
from creators import selectors, services
from creators.api.filters import CreatorOrderFilter
from creators.models import Creator, MerchItem, Order, Payout, PayoutAccount, Post, Unlock
from creators.payouts import selectors as payout_selectors
from creators.services.merch import MAX_ORDER_QUANTITY, SHIP_PERMISSION
from creators.services.posts import MAX_PRICE_COINS
from wallet import errors
from wallet.auth import signed_in_user
from wallet.models import User
from wallet.moderation.audit import REASON_MAX_LENGTH
from wallet.selectors import diamond_balance


def _caller(request: Request) -> User:
    return signed_in_user(request)


def _studio_creator(request: Request) -> Creator:
    creator = Creator.objects.filter(user_id=_caller(request).pk, status=Creator.Status.APPROVED).first()
    if creator is None:
        raise errors.NotAllowed(creator_errors.STUDIO_NOT_APPROVED)
    return creator


# ---------------------------------------------------------------- posts


class CreatorRefOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()


class PostOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    teaser = serializers.CharField()
    price_coins = serializers.IntegerField()
    creator = CreatorRefOutput()
    created_at = serializers.DateTimeField()
    unlocked = serializers.BooleanField(help_text="True when the caller may see the premium part.")
    premium_body = serializers.CharField(allow_null=True)
    premium_file_url = serializers.CharField(allow_null=True)
    premium_file_name = serializers.CharField(allow_null=True)


def _post_data(post: Post, viewer: Any) -> dict[str, Any]:
    can_see = selectors.can_see_premium(viewer=viewer, post=post)
    has_file = bool(post.premium_file)
    return {
        "id": post.pk,
        "title": post.title,
        "teaser": post.teaser,
        "price_coins": post.price_coins,
        "creator": post.creator,
        "created_at": post.created_at,
        "unlocked": can_see,
        "premium_body": post.premium_body if can_see else None,
        "premium_file_url": reverse("creators:post-file", args=[post.pk]) if can_see and has_file else None,
        "premium_file_name": post.premium_file_name if can_see and has_file else None,
    }


class PostDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PostOutput)
    def get(self, request: Request, pk: int) -> Response:
        post = selectors.visible_post(post_id=pk, viewer=request.user)
        if post is None:
            raise errors.NotFound(creator_errors.POST_NOT_FOUND)
        return Response(PostOutput(_post_data(post, request.user)).data)


class PostSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    teaser = serializers.CharField()
    price_coins = serializers.IntegerField(help_text="0: free.")
    created_at = serializers.DateTimeField()


class MerchSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price_coins = serializers.IntegerField()
    stock = serializers.IntegerField()


class CreatorProfileOutput(serializers.Serializer):
    handle = serializers.CharField(source="creator.handle")
    display_name = serializers.CharField(source="creator.display_name")
    bio = serializers.CharField(source="creator.bio")
    category = serializers.CharField(source="creator.category")
    live_session_id = serializers.IntegerField(source="live_session.pk", allow_null=True, default=None)
    gift_diamonds = serializers.IntegerField(help_text="Diamonds earned from gifts, all time.")
    posts = PostSummaryOutput(many=True, help_text="The 50 newest posts (teasers only).")
    merch = MerchSummaryOutput(many=True, help_text="Up to 50 merch items.")


class CreatorProfileView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CreatorProfileOutput)
    def get(self, request: Request, handle: str) -> Response:
        """A creator's public profile: who is live, posts and merch to open, unlock or order."""
        creator = selectors.public_creator(handle=handle, viewer=request.user)
        if creator is None:
            raise errors.NotFound(creator_errors.NO_SUCH_CREATOR)
        profile = selectors.creator_profile(creator=creator, viewer=request.user)
        return Response(CreatorProfileOutput(profile).data)


class UnlockOutput(serializers.Serializer):
    post_id = serializers.IntegerField()
    charged = serializers.BooleanField(
        help_text="False when the post was already unlocked (nothing charged)."
    )
    coins = serializers.IntegerField()
    transaction_id = serializers.IntegerField()
    message = serializers.CharField()


class UnlockView(APIView):
    permission_classes = [IsAuthenticated, IsAdult]
    throttle_scope = "spending"

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_HEADER_PARAMETER],
        responses={201: UnlockOutput, 200: UnlockOutput, **error_responses(402, 423)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Unlock a premium post (18+): charged once per viewer and post. 201 when this request
        charged (a replay of its key answers the same); 200 when the post was already unlocked."""
        key = idempotency_key(request)
        result = services.unlock_post(user=_caller(request), post_id=pk, idempotency_key=key)
        charged = result.charged or result.replay  # a replay answers as the first request did
        unlock: Unlock = result.unlock
        data = {
            "post_id": unlock.post_id,
            "charged": charged,
            "coins": unlock.coins if charged else 0,
            "transaction_id": unlock.transaction_id,
            "message": result.message,
        }
        return Response(
            UnlockOutput(data).data, status=status.HTTP_201_CREATED if charged else status.HTTP_200_OK
        )


# ---------------------------------------------------------------- merch and orders


class MerchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    price_coins = serializers.IntegerField()
    stock = serializers.IntegerField()
    creator = CreatorRefOutput()
    image_url = serializers.CharField(allow_null=True)


class MerchDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=MerchOutput)
    def get(self, request: Request, pk: int) -> Response:
        item: MerchItem | None = selectors.visible_merch(item_id=pk, viewer=request.user)
        if item is None:
            raise errors.NotFound(creator_errors.ITEM_NOT_FOUND)
        data = {
            "id": item.pk,
            "name": item.name,
            "description": item.description,
            "price_coins": item.price_coins,
            "stock": item.stock,
            "creator": item.creator,
            "image_url": reverse("creators:merch-image", args=[item.pk]) if item.image else None,
        }
        return Response(MerchOutput(data).data)


class ShippingInput(serializers.Serializer):
    name = TextField(max_length=120)
    line1 = TextField(max_length=200)
    line2 = TextField(max_length=200, required=False, allow_blank=True, default="")
    city = TextField(max_length=100)
    region = TextField(max_length=100, required=False, allow_blank=True, default="")
    postcode = TextField(max_length=20)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="Two-letter country code.")


class PlaceOrderInput(serializers.Serializer):
    quantity = WholeNumberField(min_value=1, max_value=MAX_ORDER_QUANTITY)
    shipping = ShippingInput()
    expected_unit_price = WholeNumberField(
        min_value=1,
        max_value=MAX_PRICE_COINS,
        required=False,
        help_text="Refuse the order (409) if the price is no longer this.",
    )


class OrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    item_id = serializers.IntegerField()
    item_name = serializers.CharField(source="item.name")
    quantity = serializers.IntegerField()
    unit_price_coins = serializers.IntegerField()
    coins = serializers.IntegerField()
    diamonds = serializers.IntegerField(help_text="The creator's share, held in escrow until shipped.")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class OrderActionOutput(serializers.Serializer):
    order = OrderOutput()
    changed = serializers.BooleanField(
        help_text="False when the order was already in that state (nothing moved); a replay of a key "
        "answers as its first request did."
    )
    message = serializers.CharField()


def _order_action(result: services.OrderResult, *, created_status: int = status.HTTP_200_OK) -> Response:
    changed = result.changed or result.replay  # a replay answers as the first request did
    data = {"order": result.order, "changed": changed, "message": result.message}
    return Response(OrderActionOutput(data).data, status=created_status if changed else status.HTTP_200_OK)


class PlaceOrderView(APIView):
    permission_classes = [IsAuthenticated, IsAdult]
    throttle_scope = "spending"

    @extend_schema(
        request=PlaceOrderInput,
        parameters=[IDEMPOTENCY_HEADER_PARAMETER],
        responses={201: OrderActionOutput, **error_responses(402, 423)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Order merch (18+): stock is taken and the coins charged once per key; a replay answers
        as the first request did (201, the order as placed). Sold out or a changed price is a 409."""
        key = idempotency_key(request)
        body = PlaceOrderInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.place_order(
            buyer=_caller(request),
            item_id=pk,
            quantity=data["quantity"],
            shipping=services.ShippingAddress(**data["shipping"]),
            idempotency_key=key,
            expected_unit_price=data.get("expected_unit_price"),
        )
        return _order_action(result, created_status=status.HTTP_201_CREATED)


class MyOrdersView(generics.ListAPIView[Order]):
    """Your merch orders, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderOutput

    def get_queryset(self) -> QuerySet[Order]:
        return selectors.orders_of(user=_caller(self.request))


class OrderDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OrderOutput)
    def get(self, request: Request, pk: int) -> Response:
        """One of your orders (someone else's is a 404)."""
        order = selectors.orders_of(user=_caller(request)).filter(pk=pk).first()
        if order is None:
            raise errors.NotFound(creator_errors.ORDER_NOT_FOUND)
        return Response(OrderOutput(order).data)


class OrderActionInput(serializers.Serializer):
    reason = TextField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why staff act on someone else's order (required then, kept in the audit log); "
        "the order's own buyer or seller need none.",
    )


def _staff_reason(request: Request) -> str:
    body = OrderActionInput(data=request.data)
    body.is_valid(raise_exception=True)
    return str(body.validated_data["reason"])


class CancelOrderView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=OrderActionInput, parameters=[IDEMPOTENCY_HEADER_PARAMETER], responses=OrderActionOutput
    )
    def post(self, request: Request, pk: int) -> Response:
        """Cancel your placed order: the coins and the stock come back, once per order. Staff with
        the cancel permission cancel anyone's, giving a reason (audited). A replay of the key
        answers as the first request did; a shipped order is a 409."""
        caller = _caller(request)
        reason = _staff_reason(request)
        result = services.cancel_order(
            order_id=pk, by=caller, reason=reason, idempotency_key=idempotency_key(request)
        )
        return _order_action(result)


class CreatorOrdersView(generics.ListAPIView[Order]):
    """Orders of your merch (approved creators), newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = OrderOutput
    filter_backends = [DjangoFilterBackend]
    filterset_class = CreatorOrderFilter
    queryset = Order.objects.none()  # for the schema's filter parameters; get_queryset() is listed

    def get_queryset(self) -> QuerySet[Order]:
        return selectors.orders_for_creator(creator=_studio_creator(self.request))


class ShipOrderView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=OrderActionInput, parameters=[IDEMPOTENCY_HEADER_PARAMETER], responses=OrderActionOutput
    )
    def post(self, request: Request, pk: int) -> Response:
        """Mark an order of your merch shipped: releases its escrowed diamonds, once per order.
        Staff with the ship permission ship any creator's, giving a reason (audited). A replay of
        the key answers as the first request did; a cancelled order is a 409."""
        caller = _caller(request)
        # The studio is for creators; staff with the power reach the service, which checks it.
        if not caller.has_perm(SHIP_PERMISSION):
            _studio_creator(request)
        reason = _staff_reason(request)
        result = services.mark_order_shipped(
            order_id=pk, by=caller, reason=reason, idempotency_key=idempotency_key(request)
        )
        return _order_action(result)


# ---------------------------------------------------------------- earnings


class DayOutput(serializers.Serializer):
    day = serializers.DateField()
    diamonds = serializers.IntegerField()


class SupporterOutput(serializers.Serializer):
    name = serializers.CharField()
    diamonds = serializers.IntegerField()


class SourcesOutput(serializers.Serializer):
    gifts = serializers.IntegerField()
    unlocks = serializers.IntegerField()
    merch = serializers.IntegerField()
    other = serializers.IntegerField()


class EarningsOutput(serializers.Serializer):
    diamonds = serializers.IntegerField()
    cash_cents = serializers.IntegerField()
    days = serializers.IntegerField()
    per_day = DayOutput(many=True)
    by_source_period = SourcesOutput()
    by_source_all_time = SourcesOutput()
    top_supporters = SupporterOutput(many=True)
    held_in_escrow = serializers.IntegerField()
    payouts_diamonds = serializers.IntegerField()


class EarningsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("days", OpenApiTypes.INT, enum=list(selectors.CHART_RANGES), required=False)
        ],
        responses=EarningsOutput,
    )
    def get(self, request: Request) -> Response:
        creator = _studio_creator(request)
        raw = request.query_params.get("days", str(selectors.CHART_RANGES[0]))
        if raw not in {str(r) for r in selectors.CHART_RANGES}:
            raise errors.InvalidRequest(
                f"days must be one of {', '.join(str(r) for r in selectors.CHART_RANGES)}."
            )
        d = selectors.creator_earnings_dashboard(creator=creator, days=int(raw))
        data = {
            "diamonds": d.diamonds,
            "cash_cents": d.cash_cents,
            "days": d.days,
            "per_day": d.bars,
            "by_source_period": d.by_source_period,
            "by_source_all_time": d.by_source_all_time,
            "top_supporters": d.top_supporters,
            "held_in_escrow": d.held_in_escrow,
            "payouts_diamonds": d.payouts_diamonds,
        }
        return Response(EarningsOutput(data).data)


# ---------------------------------------------------------------- payouts


class PayoutAccountOutput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=PayoutAccount.Provider.choices)
    status = serializers.ChoiceField(choices=PayoutAccount.Status.choices)
    verified_at = serializers.DateTimeField(allow_null=True)


class PayoutTotalsOutput(serializers.Serializer):
    paid_diamonds = serializers.IntegerField()
    paid_cents = serializers.IntegerField()
    in_flight_diamonds = serializers.IntegerField()
    in_flight_cents = serializers.IntegerField()
    count_paid = serializers.IntegerField()


class NextPayoutOutput(serializers.Serializer):
    cents = serializers.IntegerField()
    diamonds = serializers.IntegerField()
    minimum_cents = serializers.IntegerField()
    eligible = serializers.BooleanField()


class PayoutOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Payout.Status.choices)
    diamonds = serializers.IntegerField()
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    batch = serializers.CharField(source="batch.period")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    failure_message = serializers.CharField()


class PayoutsOutput(serializers.Serializer):
    diamonds = serializers.IntegerField(help_text="Your diamond balance now.")
    account = PayoutAccountOutput(allow_null=True)
    totals = PayoutTotalsOutput()
    next = NextPayoutOutput(help_text="What the next batch would pay from your balance now.")
    payouts = PayoutOutput(many=True, help_text="The 100 newest payouts.")


class PayoutsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=PayoutsOutput)
    def get(self, request: Request) -> Response:
        """Your payout account, payouts and totals (approved creators; read-only)."""
        creator = _studio_creator(request)
        account = payout_selectors.payout_account_of(creator=creator)
        diamonds = diamond_balance(user_id=creator.user_id)
        data = {
            "diamonds": diamonds,
            "account": account,
            "totals": payout_selectors.payout_totals(creator=creator),
            "next": payout_selectors.next_payout(creator=creator),
            "payouts": payout_selectors.payouts_of(creator=creator),
        }
        return Response(PayoutsOutput(data).data)
