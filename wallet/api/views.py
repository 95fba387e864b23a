from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from wallet import selectors
from wallet.auth import signed_in_user


class WalletOutput(serializers.Serializer):
    coins = serializers.IntegerField()
    frozen = serializers.BooleanField()


class WalletView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WalletOutput)
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        wallet = selectors.wallet_of(user_id=user.pk)
        data = {
            "coins": selectors.coin_balance(user_id=user.pk),
            "frozen": bool(wallet and wallet.frozen),
        }
        return Response(WalletOutput(data).data)
