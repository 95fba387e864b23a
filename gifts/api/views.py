"""REST API for gifts: the catalogue, live sessions, and sending gifts (thin views: validate,
call one service or selector, serialize). Errors are domain errors rendered by
coinsite.api.errors.exception_handler as {"code", "message", "extra"}."""

from __future__ import annotations

import json
from typing import Any

from django.http.request import RawPostDataException
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coinsite.api.converters import MAX_ID
from coinsite.api.fields import WholeNumberField
from coinsite.api.idempotency import IDEMPOTENCY_HEADER_PARAMETER, idempotency_key
from coinsite.api.permissions import IsAdult
from coinsite.api.schema import error_responses
from creators.models import Post
from gifts import errors as gift_errors
from gifts import live_events, selectors, services
from gifts.api.lookups import GiftRequest, gift_request
from gifts.models import MAX_COMBO, Gift, LiveSession
from wallet import errors
from wallet.auth import signed_in_user


class GiftOutput(serializers.ModelSerializer[Gift]):
    image = serializers.SerializerMethodField()

    class Meta:
        model = Gift
        fields = ["id", "name", "coins", "emoji", "image", "sort_order"]

    def get_image(self, gift: Gift) -> str:
        return gift.image.url if gift.image else ""


class GiftSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    emoji = serializers.CharField()
    coins = serializers.IntegerField()
    image = serializers.CharField()


class GoalOutput(serializers.Serializer):
    gift = serializers.CharField()
    emoji = serializers.CharField()
    target = serializers.IntegerField()
    progress = serializers.IntegerField()
    percent = serializers.IntegerField()


class GifterOutput(serializers.Serializer):
    name = serializers.CharField()
    coins = serializers.IntegerField()


class SessionStateOutput(serializers.Serializer):
    version = serializers.IntegerField()
    total_coins = serializers.IntegerField()
    goal = GoalOutput(allow_null=True)
    board = GifterOutput(many=True)


class CreatorSummaryOutput(serializers.Serializer):
    handle = serializers.CharField()
    display_name = serializers.CharField()


class LiveSessionOutput(serializers.ModelSerializer[LiveSession]):
    creator = CreatorSummaryOutput()
    goal_gift = GiftOutput(allow_null=True)

    class Meta:
        model = LiveSession
        fields = ["id", "title", "status", "creator", "goal_gift", "goal_count", "started_at", "ended_at"]


class LiveSessionDetailOutput(LiveSessionOutput):
    state = serializers.SerializerMethodField()

    class Meta(LiveSessionOutput.Meta):
        fields = [*LiveSessionOutput.Meta.fields, "state"]

    @extend_schema(responses=SessionStateOutput)
    def get_state(self, session: LiveSession) -> dict[str, Any]:
        return live_events.state_data(selectors.session_state(session=session))


class SendGiftInput(serializers.Serializer):
    gift = WholeNumberField(
        min_value=1,
        max_value=MAX_ID,
        error_messages={
            "required": gift_errors.CHOOSE_GIFT,
            "null": gift_errors.CHOOSE_GIFT,
            "invalid": gift_errors.GIFT_UNAVAILABLE,
            "min_value": gift_errors.GIFT_UNAVAILABLE,
            "max_value": gift_errors.GIFT_UNAVAILABLE,
        },
        help_text="A gift id from the catalogue.",
    )
    count = WholeNumberField(
        min_value=1,
        max_value=MAX_COMBO,
        error_messages={
            "required": gift_errors.COUNT_REQUIRED,
            "null": gift_errors.COUNT_REQUIRED,
            "invalid": gift_errors.COUNT_INVALID,
            "min_value": gift_errors.COUNT_INVALID,
            "max_value": gift_errors.COUNT_INVALID,
        },
        help_text="The combo: how many of the gift at once.",
    )


class GiftSendOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sender = serializers.CharField()
    gift = GiftSummaryOutput()
    count = serializers.IntegerField()
    coins = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class GiftListView(generics.ListAPIView[Gift]):
    """The active gift catalogue, cheapest first."""

    permission_classes = [AllowAny]
    serializer_class = GiftOutput
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.active_gifts()


class LiveSessionListView(generics.ListAPIView[LiveSession]):
    """Who is live now, newest first."""

    permission_classes = [AllowAny]
    serializer_class = LiveSessionOutput

    def get_queryset(self) -> Any:
        return selectors.live_sessions()


class LiveSessionDetailView(generics.RetrieveAPIView[LiveSession]):
    """One live session with its goal progress and top-gifter board."""

    permission_classes = [AllowAny]
    serializer_class = LiveSessionDetailOutput
    queryset = LiveSession.objects.select_related("creator", "goal_gift")


def _gift(gift_id: int, looked_up: GiftRequest | None) -> Gift:
    # Any gift, retired ones too: send_gift refuses a retired gift after answering a replay of its key.
    if looked_up is not None and looked_up.gift_id == gift_id:
        gift = looked_up.gift
    else:
        gift = Gift.objects.filter(pk=gift_id).first()
    if gift is None:
        raise errors.InvalidRequest(gift_errors.GIFT_UNAVAILABLE, extra={"field": "gift"})
    return gift


# A gift request's body is a few dozen bytes; a larger one is read only by the parser.
PEEK_LIMIT = 4096


def _posted_gift_id(request: Request) -> int | None:
    """The gift id of a small JSON body, read before DRF parses it (so the token, gift and
    target are fetched in one query); None when the body is anything else (the serializer then
    reports it as it always did, and the gift is looked up on its own)."""
    django_request = request._request
    if not (request.content_type or "").startswith("application/json"):
        return None
    try:
        if int(django_request.META.get("CONTENT_LENGTH") or PEEK_LIMIT + 1) > PEEK_LIMIT:
            return None
        data = json.loads(django_request.body)
    except (ValueError, RecursionError, RawPostDataException):
        return None
    gift = data.get("gift") if isinstance(data, dict) else None
    if isinstance(gift, int) and not isinstance(gift, bool) and 1 <= gift <= MAX_ID:
        return gift
    return None


SEND_GIFT_SCHEMA = extend_schema(
    request=SendGiftInput,
    responses={201: GiftSendOutput, **error_responses(402, 409, 423)},
    parameters=[IDEMPOTENCY_HEADER_PARAMETER],
)


class _SendGiftView(APIView):
    """A token-authenticated gift reads the token's user, the gift and the target (with its
    creator) in one query (`token_lookup`, called by the token authentication); a session-
    authenticated one looks them up one by one."""

    permission_classes = [IsAuthenticated, IsAdult]
    throttle_scope = "gifts"
    looked_up: GiftRequest | None = None

    def target_ids(self) -> dict[str, int]:
        raise NotImplementedError

    def token_lookup(self, request: Request, key: str) -> Token | None:
        self.looked_up = gift_request(token_key=key, gift_id=_posted_gift_id(request), **self.target_ids())
        return self.looked_up.token

    def _send(
        self, request: Request, *, session: LiveSession | None = None, post: Post | None = None
    ) -> Response:
        key = idempotency_key(request)
        data = SendGiftInput(data=request.data)
        data.is_valid(raise_exception=True)
        gift_send = services.send_gift(
            sender=signed_in_user(request),
            gift=_gift(data.validated_data["gift"], self.looked_up),
            count=data.validated_data["count"],
            idempotency_key=key,
            session=session,
            post=post,
        )
        # A replay answers exactly as the first request did.
        return Response(
            GiftSendOutput(live_events.gift_send_data(gift_send)).data, status=status.HTTP_201_CREATED
        )


class LiveSessionGiftsView(_SendGiftView):
    def target_ids(self) -> dict[str, int]:
        return {"session_id": self.kwargs["pk"]}

    @SEND_GIFT_SCHEMA
    def post(self, request: Request, pk: int) -> Response:
        """Send a gift (with a combo count) to a live session (18+; a session that has ended is a 409)."""
        if self.looked_up is not None:
            session = self.looked_up.session
        else:
            session = LiveSession.objects.select_related("creator", "goal_gift").filter(pk=pk).first()
        if session is None:
            raise errors.NotFound(gift_errors.NO_SUCH_SESSION)
        return self._send(request, session=session)


class PostGiftsView(_SendGiftView):
    def target_ids(self) -> dict[str, int]:
        return {"post_id": self.kwargs["pk"]}

    @SEND_GIFT_SCHEMA
    def post(self, request: Request, pk: int) -> Response:
        """Send a gift (with a combo count) on a post (18+)."""
        if self.looked_up is not None:
            post = self.looked_up.post
        else:
            post = Post.objects.select_related("creator").filter(pk=pk).first()
        if post is None:
            raise errors.NotFound(gift_errors.NO_SUCH_POST)
        return self._send(request, post=post)
