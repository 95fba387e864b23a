"""REST API for premium posts, merch orders and creator earnings: one view per operation,
an input serializer, one service or selector call, an output serializer. Errors are the
domain errors rendered by wallet.api.errors.exception_handler as {"code", "message", "extra"}."""

from __future__ import annotations

from typing import Any, cast

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creators import selectors, services
from creators.models import Creator, MerchItem, Order, Post, Unlock
from creators.services.merch import MAX_ORDER_QUANTITY
from wallet import errors
from wallet.models import User

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="One key per operation (8-100 letters, digits, '-' or '_'; a UUID works): a retry with the "
    "same key returns the first result and charges nothing again; the same key for a different request is a 409.",
)


def _caller(request: Request) -> User:
    # Only called behind IsAuthenticated.
    return cast(User, request.user)


def _idempotency_key(request: Request) -> str:
    return services.validate_idempotency_key(request.headers.get("Idempotency-Key"))


def _studio_creator(request: Request) -> Creator:
    creator = Creator.objects.filter(user_id=_caller(request).pk, status=Creator.Status.APPROVED).first()
    if creator is None:
        raise errors.NotAllowed("Only approved creators have a studio.")
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
            raise errors.NotFound("That post doesn't exist.")
        return Response(PostOutput(_post_data(post, request.user)).data)


class UnlockOutput(serializers.Serializer):
    post_id = serializers.IntegerField()
    charged = serializers.BooleanField(
        help_text="False when the post was already unlocked (nothing charged)."
    )
    coins = serializers.IntegerField()
    transaction_id = serializers.IntegerField()
    message = serializers.CharField()


class UnlockView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, parameters=[IDEMPOTENCY_HEADER], responses={201: UnlockOutput, 200: UnlockOutput}
    )
    def post(self, request: Request, pk: int) -> Response:
        result = services.unlock_post(
            user=_caller(request), post_id=pk, idempotency_key=_idempotency_key(request)
        )
        unlock: Unlock = result.unlock
        data = {
            "post_id": unlock.post_id,
            "charged": result.charged,
            "coins": unlock.coins if result.charged else 0,
            "transaction_id": unlock.transaction_id,
            "message": result.message,
        }
        return Response(
            UnlockOutput(data).data, status=status.HTTP_201_CREATED if result.charged else status.HTTP_200_OK
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
            raise errors.NotFound("That item doesn't exist.")
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
    name = serializers.CharField(max_length=120)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="Two-letter country code.")


class PlaceOrderInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_ORDER_QUANTITY)
    shipping = ShippingInput()
    expected_unit_price = serializers.IntegerField(
        min_value=1, required=False, help_text="Refuse the order (409) if the price is no longer this."
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
        help_text="False when nothing moved (a replay, or already in that state)."
    )
    message = serializers.CharField()


def _order_action(result: services.OrderResult, *, created_status: int = status.HTTP_200_OK) -> Response:
    data = {"order": result.order, "changed": result.changed, "message": result.message}
    return Response(
        OrderActionOutput(data).data, status=created_status if result.changed else status.HTTP_200_OK
    )


class PlaceOrderView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PlaceOrderInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: OrderActionOutput, 200: OrderActionOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        key = _idempotency_key(request)
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


class MyOrdersView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OrderOutput(many=True))
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.orders_of(user=_caller(request)), request, view=self)
        return paginator.get_paginated_response(OrderOutput(page, many=True).data)


class CancelOrderView(APIView):
    """Cancel a placed order (idempotent per order: a repeat moves nothing and says so)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OrderActionOutput)
    def post(self, request: Request, pk: int) -> Response:
        return _order_action(services.cancel_order(order_id=pk, by=_caller(request)))


class CreatorOrdersView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=list(Order.Status.values), required=False)
        ],
        responses=OrderOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        creator = _studio_creator(request)
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in Order.Status.values:
            raise errors.InvalidRequest(f"status must be one of {', '.join(Order.Status.values)}.")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            selectors.orders_for_creator(creator=creator, status=wanted), request, view=self
        )
        return paginator.get_paginated_response(OrderOutput(page, many=True).data)


class ShipOrderView(APIView):
    """Mark an order of your merch shipped: releases its escrowed diamonds (idempotent per order)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OrderActionOutput)
    def post(self, request: Request, pk: int) -> Response:
        _studio_creator(request)
        return _order_action(services.mark_order_shipped(order_id=pk, by=_caller(request)))


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
