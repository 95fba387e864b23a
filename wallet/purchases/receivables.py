"""Taking coins back (refunds, chargebacks) without ever making a wallet negative.

A clawback of N coins un-issues them: COIN_ISSUANCE +N. The wallet gives what it holds
now (-taken); coins already spent are owed (-owed on the RECEIVABLE system account, whose
balance is minus the total owed), a `CoinReceivable` row says who owes them, and the wallet
is frozen. Legs: +N, -taken, -owed with taken + owed = N, so every transaction balances
and check_ledger stays clean. When the viewer later buys coins, the new coins cover the
receivable first (wallet -c, RECEIVABLE +c) and the wallet is unfrozen once nothing is owed.
A chargeback won returns what it took: the coins taken, the part of the receivable the
viewer already covered, and it waives the rest (ISSUANCE -N, wallet +taken+covered,
RECEIVABLE +outstanding).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from wallet import errors, selectors, services
from wallet.models import Account, CoinPurchase, CoinReceivable, PurchaseDispute, Transaction, Unit
from wallet.purchases.locks import wallet_for_update
from wallet.services import Leg


@dataclass(frozen=True)
class Clawback:
    taken: int
    owed: int


def _issuance() -> int:
    return services.system_account_id(Account.Kind.COIN_ISSUANCE, Unit.COIN)


def _receivable_account() -> int:
    return services.system_account_id(Account.Kind.RECEIVABLE, Unit.COIN)


def outstanding_coins(*, user_id: int) -> int:
    totals = CoinReceivable.objects.filter(user_id=user_id, settled_at__isnull=True).aggregate(
        coins=Sum("coins"), covered=Sum("covered_coins"), waived=Sum("waived_coins")
    )
    return int(totals["coins"] or 0) - int(totals["covered"] or 0) - int(totals["waived"] or 0)


def claw_back(
    *,
    purchase: CoinPurchase,
    coins: int,
    kind: str,
    source: str,
    idempotency_key: str,
    memo: str,
    dispute: PurchaseDispute | None = None,
) -> Clawback:
    """Take `coins` back from the buyer of `purchase` (caller holds the purchase lock)."""
    if coins <= 0:
        return Clawback(taken=0, owed=0)
    wallet = wallet_for_update(user_id=purchase.user_id)
    taken = min(coins, selectors.balance_of(account_id=wallet.pk))
    owed = coins - taken
    legs = [Leg(_issuance(), coins)]
    if taken:
        legs.append(Leg(wallet.pk, -taken))
    if owed:
        legs.append(Leg(_receivable_account(), -owed))
    # allow_frozen: a wallet frozen by an earlier clawback must still give back what it holds.
    services.post_transaction(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        reference=f"purchase:{purchase.pk}",
        memo=memo,
        allow_frozen=True,
    )
    if owed:
        CoinReceivable.objects.create(
            user_id=purchase.user_id, purchase=purchase, dispute=dispute, source=source, coins=owed
        )
        if not wallet.frozen:
            services.set_frozen(account=wallet, frozen=True, reason=errors.WALLET_FROZEN_FOR_RECEIVABLE)
    return Clawback(taken=taken, owed=owed)


def cover_needed(user: OuterRef) -> Exists | Q:
    """True in SQL when `cover_receivables` has something to do for the user `user` refers to:
    they owe coins, or their wallet is frozen for what they owed."""
    owes = CoinReceivable.objects.filter(user_id=user, settled_at__isnull=True)
    frozen = Account.objects.filter(
        owner_id=user,
        kind=Account.Kind.USER_COINS,
        frozen=True,
        frozen_reason=errors.WALLET_FROZEN_FOR_RECEIVABLE,
    )
    return Exists(owes) | Exists(frozen)


def cover_receivables(*, user_id: int, idempotency_key: str) -> int:
    """Use the viewer's coins to pay what they owe, oldest first; unfreeze when nothing is owed.

    Returns the coins used. Called after every credit to the wallet (after its balance
    update, so a clawback that committed meanwhile is seen here)."""
    if not CoinReceivable.objects.filter(user_id=user_id, settled_at__isnull=True).exists():
        frozen_by_us = Account.objects.filter(
            owner_id=user_id,
            kind=Account.Kind.USER_COINS,
            frozen=True,
            frozen_reason=errors.WALLET_FROZEN_FOR_RECEIVABLE,
        ).first()
        if frozen_by_us is not None:
            _unfreeze_if_ours(frozen_by_us)
        return 0
    wallet = wallet_for_update(user_id=user_id)
    owing = list(
        CoinReceivable.objects.select_for_update()
        .filter(user_id=user_id, settled_at__isnull=True)
        .order_by("pk")
    )
    outstanding = sum(receivable.outstanding for receivable in owing)
    cover = min(outstanding, selectors.balance_of(account_id=wallet.pk))
    if cover:
        services.post_transaction(
            kind=Transaction.Kind.RECEIVABLE_COVER,
            legs=[Leg(wallet.pk, -cover), Leg(_receivable_account(), cover)],
            idempotency_key=idempotency_key,
            reference=f"user:{user_id}",
            memo="Coins owed after a refund or chargeback",
            allow_frozen=True,
        )
        left = cover
        now = timezone.now()
        for receivable in owing:
            part = min(left, receivable.outstanding)
            if not part:
                continue
            receivable.covered_coins += part
            left -= part
            if receivable.outstanding == 0:
                receivable.settled_at = now
            receivable.save(update_fields=["covered_coins", "settled_at"])
    if outstanding - cover == 0:
        _unfreeze_if_ours(wallet)
    return cover


def reverse_dispute_clawback(*, dispute: PurchaseDispute, purchase: CoinPurchase) -> int:
    """A chargeback won: return the coins it took (and what the viewer paid towards it),
    waive what is still owed. Returns the coins given back to the wallet."""
    wallet = wallet_for_update(user_id=purchase.user_id)
    owing = list(CoinReceivable.objects.select_for_update().filter(dispute=dispute).order_by("pk"))
    owed_total = sum(receivable.coins for receivable in owing)
    covered = sum(receivable.covered_coins for receivable in owing)
    outstanding = sum(receivable.outstanding for receivable in owing)
    taken = dispute.coins - owed_total
    give_back = taken + covered
    legs = [Leg(_issuance(), -dispute.coins)]
    if give_back:
        legs.append(Leg(wallet.pk, give_back))
    if outstanding:
        legs.append(Leg(_receivable_account(), outstanding))
    services.post_transaction(
        kind=Transaction.Kind.DISPUTE_REVERSAL,
        legs=legs,
        idempotency_key=f"dispute-{dispute.stripe_dispute_id}-reversal",
        reference=f"purchase:{purchase.pk}",
        memo="Chargeback won: coins returned",
    )
    now = timezone.now()
    for receivable in owing:
        if receivable.outstanding:
            receivable.waived_coins += receivable.outstanding
            receivable.settled_at = now
            receivable.save(update_fields=["waived_coins", "settled_at"])
    # The returned coins may pay what other refunds or chargebacks left owing.
    cover_receivables(user_id=purchase.user_id, idempotency_key=f"receivable-cover-dispute-{dispute.pk}")
    return give_back


def reverse_refund_clawback(*, purchase: CoinPurchase, coins: int, idempotency_key: str) -> int:
    """A refund that failed at Stripe: give back `coins` its clawback took (caller holds the
    purchase lock). What this purchase's refunds left owing is waived first (newest first);
    the rest, the coins taken and what the viewer already paid towards it, goes back to the
    wallet. Returns the coins given to the wallet."""
    if coins <= 0:
        return 0
    wallet = wallet_for_update(user_id=purchase.user_id)
    owing = list(
        CoinReceivable.objects.select_for_update()
        .filter(purchase=purchase, source=CoinReceivable.Source.REFUND, settled_at__isnull=True)
        .order_by("-pk")
    )
    waive: dict[int, int] = {}
    left = coins
    for receivable in owing:
        part = min(left, receivable.outstanding)
        if part:
            waive[receivable.pk] = part
            left -= part
    waived = coins - left
    legs = [Leg(_issuance(), -coins)]
    if left:
        legs.append(Leg(wallet.pk, left))
    if waived:
        legs.append(Leg(_receivable_account(), waived))
    services.post_transaction(
        kind=Transaction.Kind.REFUND_REVERSAL,
        legs=legs,
        idempotency_key=idempotency_key,
        reference=f"purchase:{purchase.pk}",
        memo=f"Refund of purchase #{purchase.pk} failed: coins returned",
        allow_frozen=True,
    )
    now = timezone.now()
    for receivable in owing:
        part = waive.get(receivable.pk, 0)
        if part:
            receivable.waived_coins += part
            if receivable.outstanding == 0:
                receivable.settled_at = now
            receivable.save(update_fields=["waived_coins", "settled_at"])
    # The returned coins may pay what other refunds or chargebacks left owing; unfreezes when clear.
    cover_receivables(user_id=purchase.user_id, idempotency_key=f"receivable-cover-{idempotency_key}")
    return left


def _unfreeze_if_ours(wallet: Account) -> None:
    # Only lift a freeze this module set; a staff freeze for another reason stays.
    if wallet.frozen and wallet.frozen_reason == errors.WALLET_FROZEN_FOR_RECEIVABLE:
        services.set_frozen(account=wallet, frozen=False, reason="")
