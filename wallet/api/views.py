"""REST API of the wallet: tokens, balance and history, coin packages, buying coins and receipts,
and reports to the moderators.

Thin views: validate, call one service or selector, serialize. Purchases reuse the checkout
services of the "Get coins" page: start (one purchase per Idempotency-Key), confirm with a
PaymentMethod id (one charge per purchase), and the receipt re-fetches an open purchase.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coinsite.api.converters import MAX_ID
from coinsite.api.fields import TextField, WholeNumberField
from coinsite.api.idempotency import IDEMPOTENCY_HEADER_PARAMETER, idempotency_key
from coinsite.api.permissions import IsAdult
from coinsite.api.schema import error_responses
from wallet import auth, errors, selectors
from wallet.auth import signed_in_user
from wallet.models import CoinPackage, CoinPurchase, Entry, Report, Transaction, User
from wallet.moderation import reports
from wallet.purchases import checkout, pricing
from wallet.purchases import selectors as purchase_selectors

PURCHASE_HISTORY_LIMIT = 10_000
CHECKOUT_STATUSES = [*CoinPurchase.Status.values, "requires_action"]

# ---------------------------------------------------------------- tokens


class TokenInput(serializers.Serializer):
    # Plain text, not an email format check: anything that is not an account's address and
    # password is the same "invalid_credentials" answer.
    email = TextField(max_length=254, help_text="The account's email address.")
    password = TextField(max_length=4096)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class TokenInfoOutput(serializers.Serializer):
    created = serializers.DateTimeField()
    ends_with = serializers.CharField(
        help_text="The token's last characters (the key is shown only when issued)."
    )


class TokenListOutput(serializers.Serializer):
    tokens = TokenInfoOutput(many=True)


class AuthTokenView(APIView):
    """Obtain (POST, with email and password), list (GET) or revoke (DELETE) your API tokens.
    A new password ends them all."""

    throttle_scope = "auth_token"

    def _obtaining(self) -> bool:
        return getattr(getattr(self, "request", None), "method", None) == "POST"

    def get_authenticators(self) -> list[BaseAuthentication]:
        # Obtaining a token needs no prior sign-in (and a stale token header must not block it).
        return [] if self._obtaining() else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self._obtaining() else [IsAuthenticated()]

    @extend_schema(
        request=TokenInput,
        responses={200: TokenOutput, **error_responses(400, 429)},
        auth=[],
        description="The same account and the same limits as the log-in page: failed attempts per "
        "address and per client are limited (429).",
    )
    def post(self, request: Request) -> Response:
        body = TokenInput(data=request.data)
        body.is_valid(raise_exception=True)
        http_request = request._request
        try:
            user = get_adapter(http_request).authenticate(
                http_request, email=body.validated_data["email"], password=body.validated_data["password"]
            )
        except forms.ValidationError as exc:  # allauth's failed-log-in limit
            raise exceptions.Throttled(detail=errors.TOO_MANY_LOGIN_ATTEMPTS) from exc
        if not isinstance(user, User):
            raise errors.InvalidRequest(errors.BAD_CREDENTIALS, code="invalid_credentials")
        return Response(TokenOutput({"token": auth.issue_api_token(user=user)}).data)

    @extend_schema(responses={200: TokenListOutput})
    def get(self, request: Request) -> Response:
        tokens = auth.api_tokens(user_id=signed_in_user(request).pk)
        return Response(TokenListOutput({"tokens": tokens}).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        auth.revoke_api_tokens(user_id=signed_in_user(request).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- balance and history


class WalletOutput(serializers.Serializer):
    coins = serializers.IntegerField()
    frozen = serializers.BooleanField()


class WalletView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WalletOutput)
    def get(self, request: Request) -> Response:
        """Your coin balance, and whether the wallet is frozen."""
        user = signed_in_user(request)
        wallet = selectors.wallet_of(user_id=user.pk)
        data = {
            "coins": selectors.coin_balance(user_id=user.pk),
            "frozen": bool(wallet and wallet.frozen),
        }
        return Response(WalletOutput(data).data)


class HistoryLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    amount = serializers.IntegerField(help_text="Coins: positive credits, negative debits.")
    kind = serializers.ChoiceField(choices=Transaction.Kind.choices, source="transaction.kind")
    kind_label = serializers.CharField(source="transaction.get_kind_display")
    memo = serializers.CharField(source="transaction.memo")
    reference = serializers.CharField(source="transaction.reference")
    transaction_id = serializers.IntegerField()


class WalletHistoryView(generics.ListAPIView[Entry]):
    """Every movement of your coins, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = HistoryLineOutput

    def get_queryset(self) -> QuerySet[Entry]:
        return selectors.coin_entries(user_id=signed_in_user(self.request).pk)


# ---------------------------------------------------------------- coin packages


class PackageOutput(serializers.ModelSerializer[CoinPackage]):
    class Meta:
        model = CoinPackage
        fields = ["id", "name", "coins", "price_cents", "currency"]


class CoinOffersOutput(serializers.Serializer):
    packages = PackageOutput(many=True)
    custom_coins_min = serializers.IntegerField()
    custom_coins_max = serializers.IntegerField()
    stripe_publishable_key = serializers.CharField(
        help_text="For Stripe.js / the mobile SDK: turn the card into a PaymentMethod (`pm_...`)."
    )


class CoinOffersView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=CoinOffersOutput)
    def get(self, request: Request) -> Response:
        """Coin packages on sale, and the range of a custom amount (priced at package rates)."""
        low, high = pricing.custom_coins_range()
        data = {
            "packages": selectors.active_packages(),
            "custom_coins_min": low,
            "custom_coins_max": high,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        }
        return Response(CoinOffersOutput(data).data)


# ---------------------------------------------------------------- purchases


class PurchaseOutput(serializers.ModelSerializer[CoinPurchase]):
    package = serializers.IntegerField(source="package_id", allow_null=True)
    receipt_url = serializers.SerializerMethodField()

    class Meta:
        model = CoinPurchase
        fields = [
            "id",
            "status",
            "coins",
            "amount_cents",
            "currency",
            "package",
            "failure_message",
            "created_at",
            "credited_at",
            "receipt_url",
        ]

    def get_receipt_url(self, purchase: CoinPurchase) -> str:
        return f"/coins/purchases/{purchase.pk}/"


class PurchaseStateOutput(serializers.Serializer):
    purchase = PurchaseOutput()
    status = serializers.ChoiceField(
        choices=CHECKOUT_STATUSES,
        help_text="`requires_action`: run Stripe's confirmCardPayment with `client_secret`, then GET the receipt.",
    )
    message = serializers.CharField()
    balance = serializers.IntegerField(help_text="Your coin balance now.")
    client_secret = serializers.CharField(
        help_text="Set only when the bank needs 3-D Secure (status `requires_action`)."
    )


class CheckoutOutput(PurchaseStateOutput):
    setup_client_secret = serializers.CharField(
        help_text="A SetupIntent for Stripe's confirmCardSetup; its PaymentMethod goes to confirm. "
        "Empty once the purchase is paid or closed."
    )
    publishable_key = serializers.CharField()


def _state_data(state: checkout.PurchaseState) -> dict[str, Any]:
    return {
        "purchase": state.purchase,
        "status": state.status,
        "message": state.message,
        "balance": state.balance,
        "client_secret": state.action_client_secret,
    }


def _package_field(**kwargs: Any) -> WholeNumberField:
    return WholeNumberField(min_value=1, max_value=MAX_ID, help_text="A coin package id.", **kwargs)


def _custom_coins_field(**kwargs: Any) -> WholeNumberField:
    low, high = pricing.custom_coins_range()
    message = errors.CUSTOM_COINS_OUT_OF_RANGE.format(min=low, max=high)
    return WholeNumberField(
        min_value=low,
        max_value=high,
        error_messages={"min_value": message, "max_value": message},
        help_text="A custom amount of coins, priced at the package rates.",
        **kwargs,
    )


class StartPurchaseInput(serializers.Serializer):
    """Exactly one of `package` and `custom_coins`."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "package": _package_field(required=False),
            "custom_coins": _custom_coins_field(required=False),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "package" in attrs and "custom_coins" in attrs:
            raise serializers.ValidationError(errors.PACKAGE_OR_AMOUNT_NOT_BOTH)
        if "package" not in attrs and "custom_coins" not in attrs:
            raise serializers.ValidationError(errors.CHOOSE_PACKAGE_OR_AMOUNT)
        return attrs


class PackagePurchaseInput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"package": _package_field()}


class CustomPurchaseInput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"custom_coins": _custom_coins_field()}


# The documented body: one of the two shapes (a body with both fields matches both: invalid).
START_PURCHASE_REQUEST = PolymorphicProxySerializer(
    component_name="StartPurchaseInput",
    serializers=[PackagePurchaseInput, CustomPurchaseInput],
    resource_type_field_name=None,
)


class ConfirmPurchaseInput(serializers.Serializer):
    payment_method = serializers.RegexField(
        checkout.PAYMENT_METHOD_ID.pattern,
        max_length=203,
        help_text="The PaymentMethod id (`pm_...`) from Stripe.js or the mobile SDK.",
        error_messages=dict.fromkeys(
            ("required", "null", "blank", "invalid", "max_length"), errors.PAYMENT_METHOD_INVALID
        ),
    )


class PurchasesView(generics.GenericAPIView[CoinPurchase]):
    permission_classes = [IsAuthenticated, IsAdult]
    throttle_scope = "purchases"
    serializer_class = PurchaseOutput

    def get_queryset(self) -> QuerySet[CoinPurchase]:
        return purchase_selectors.purchases_of(
            user_id=signed_in_user(self.request).pk, limit=PURCHASE_HISTORY_LIMIT
        )

    @extend_schema(responses=PurchaseOutput(many=True))
    def get(self, request: Request) -> Response:
        """Your coin purchases, newest first."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PurchaseOutput(page, many=True).data)

    @extend_schema(
        request=START_PURCHASE_REQUEST,
        parameters=[IDEMPOTENCY_HEADER_PARAMETER],
        responses={201: CheckoutOutput, **error_responses(502, 503)},
    )
    def post(self, request: Request) -> Response:
        """Start buying coins: a package or a custom amount, priced by the server. One purchase per
        Idempotency-Key (a replay answers with that purchase as it is now)."""
        key = idempotency_key(request)
        body = StartPurchaseInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = signed_in_user(request)
        purchase = checkout.start_purchase(
            user=user,
            idempotency_key=key,
            package_id=data.get("package"),
            custom_coins=data.get("custom_coins"),
        )
        prepared = checkout.prepare_checkout(purchase_id=purchase.pk, user=user)
        out = {
            **_state_data(prepared.state),
            "setup_client_secret": prepared.setup_client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        }
        return Response(CheckoutOutput(out).data, status=status.HTTP_201_CREATED)


class PurchaseReceiptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PurchaseStateOutput, **error_responses(502, 503)})
    def get(self, request: Request, pk: int) -> Response:
        """One of your purchases (the receipt); an open one is re-fetched from Stripe first, so
        this is also how to finish after 3-D Secure."""
        state = checkout.refresh_purchase(purchase_id=pk, user=signed_in_user(request))
        return Response(PurchaseStateOutput(_state_data(state)).data)


class ConfirmPurchaseView(APIView):
    permission_classes = [IsAuthenticated, IsAdult]
    throttle_scope = "purchases"

    @extend_schema(
        request=ConfirmPurchaseInput,
        parameters=[IDEMPOTENCY_HEADER_PARAMETER],
        responses={200: PurchaseStateOutput, **error_responses(502, 503)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Pay for a purchase with a PaymentMethod: one charge per purchase, whatever the key. A
        declined card answers 200 with status `failed` and the card's reason; 3-D Secure answers
        `requires_action` with a `client_secret`."""
        key = idempotency_key(request)
        body = ConfirmPurchaseInput(data=request.data)
        body.is_valid(raise_exception=True)
        state = checkout.confirm_purchase(
            purchase_id=pk,
            user=signed_in_user(request),
            payment_method_id=body.validated_data["payment_method"],
            idempotency_key=key,
        )
        return Response(PurchaseStateOutput(_state_data(state)).data)


# ---------------------------------------------------------------- reports


def _one_message(*codes: str, message: str) -> dict[str, Any]:
    return dict.fromkeys(codes, message)


class ReportInput(serializers.Serializer):
    """What to report (a target type and its id) and why."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # The target types are registered at start-up by the apps that own them.
        return {
            "target_type": serializers.ChoiceField(
                choices=reports.report_target_types(),
                error_messages=_one_message(
                    "required", "null", "invalid_choice", message=errors.REPORT_TARGET_TYPE_INVALID
                ),
            ),
            "target_id": WholeNumberField(
                min_value=1,
                max_value=MAX_ID,
                error_messages=_one_message(
                    "required",
                    "null",
                    "invalid",
                    "min_value",
                    "max_value",
                    message=errors.REPORT_TARGET_NOT_FOUND,
                ),
            ),
            "reason": serializers.ChoiceField(
                choices=Report.Reason.choices,
                error_messages=_one_message(
                    "required", "null", "invalid_choice", message=errors.REPORT_REASON_INVALID
                ),
            ),
            "details": TextField(
                required=False,
                allow_blank=True,
                max_length=reports.DETAILS_MAX_LENGTH,
                error_messages={"max_length": errors.REPORT_DETAILS_TOO_LONG},
            ),
        }


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Report.Status.choices)
    message = serializers.CharField()


class ReportsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ReportInput,
        responses={201: ReportOutput, **error_responses(404, 409)},
        description="One open report per reporter per target (a second one is a 409). A target that "
        "does not exist and one hidden from you are the same 404.",
    )
    def post(self, request: Request) -> Response:
        """Report a post, a merch item, a live session or a user to the moderators."""
        body = ReportInput(data=request.data)
        if not body.is_valid():
            # The report page's answers: a target id that is no id at all is "not found", like
            # one that names nothing.
            field, messages = next(iter(body.errors.items()))
            error_type = errors.NotFound if field == "target_id" else errors.InvalidRequest
            raise error_type(str(messages[0]), extra={"field": field})
        data = body.validated_data
        report = reports.file_report(
            reporter=signed_in_user(request),
            target_type=data["target_type"],
            target_id=data["target_id"],
            reason=data["reason"],
            details=data.get("details", ""),
        )
        out = {"id": report.pk, "status": report.status, "message": errors.REPORT_SENT}
        return Response(ReportOutput(out).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------- anything else under /api/v1/


class UnknownEndpointView(APIView):
    """Every path under /api/v1/ that names no endpoint: the JSON 404, whatever the method
    (a method without a handler lands in `http_method_not_allowed`)."""

    schema = None
    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]

    def http_method_not_allowed(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound(errors.NO_SUCH_ENDPOINT)

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        raise exceptions.NotFound(errors.NO_SUCH_ENDPOINT)
