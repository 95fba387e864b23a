"""What a refund or chargeback does to the creators the purchase's coins already paid.

A viewer's coins are spent first in, first out: each debit of the wallet takes the oldest
coins left (a clawback takes its own purchase's coins first, and coins a failed refund or a won
chargeback gives back are the coins it took). So the spends (gifts, unlocks,
merch) a purchase funded, and the part of each, are read from the wallet's entries; each
spend's creator credit is in the same transaction (merch: in the release of the same order).

- A dispute opened: the credits it funded are held (`EarningsHold`), no batch pays them.
- A refund or a lost dispute: of each funded credit, what is still unpaid is taken back from
  the creator (one ledger transaction per creator, key `earnings-reversal-<event>-<account>`,
  reference the purchase); what was paid out already is recorded as the platform's loss.
- A refund Stripe reports failed: the refunds' reversals the remaining refunded coins no longer
  justify are undone (the creator gets back what was taken, key
  `earnings-restore-<event>-<account>`; the loss no longer counts).
Both run inside the caller's transaction, under the purchase lock.
"""

from __future__ import annotations

import datetime
import logging
from collections import deque
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from wallet import earnings, selectors, services
from wallet.models import (
    Account,
    CoinPurchase,
    EarningsHold,
    EarningsReversal,
    Entry,
    PurchaseDispute,
    Transaction,
    Unit,
)
from wallet.services import Leg

logger = logging.getLogger(__name__)

SPEND_KINDS = (Transaction.Kind.GIFT, Transaction.Kind.UNLOCK, Transaction.Kind.MERCH)
CLAWBACK_KINDS = (Transaction.Kind.REFUND, Transaction.Kind.DISPUTE)
RETURN_KINDS = (Transaction.Kind.REFUND_REVERSAL, Transaction.Kind.DISPUTE_REVERSAL)


@dataclass(frozen=True)
class FundedCredit:
    """The part of one creator credit that a purchase's coins paid for."""

    account_id: int
    transaction_id: int
    created_at: datetime.datetime
    coins: int
    diamonds: int


@dataclass(frozen=True)
class _FundedSpend:
    transaction_id: int
    kind: str
    reference: str
    coins: int  # the whole spend
    start: int  # the purchase paid coins [start, end) of it
    end: int


def _purchase_of(reference: str) -> int | None:
    prefix, _, pk = reference.partition(":")
    return int(pk) if prefix == "purchase" and pk.isdigit() else None


def _funded_spends(purchase: CoinPurchase) -> list[_FundedSpend]:
    wallet = selectors.wallet_of(user_id=purchase.user_id)
    if wallet is None:
        return []
    rows = (
        Entry.objects.filter(account_id=wallet.pk)
        .order_by("id")
        .values_list("amount", "transaction_id", "transaction__kind", "transaction__reference")
    )
    lots: deque[list[int | None]] = deque()  # [purchase id or None, coins left]
    # What clawbacks of each purchase took, and what covering receivables used, by source: coins
    # a failed refund or a won chargeback gives back are those same coins, not fresh ones.
    clawed: dict[int | None, list[list[int | None]]] = {}
    covered: list[list[int | None]] = []
    funded: list[_FundedSpend] = []
    for amount, txn, kind, reference in rows.iterator(chunk_size=2000):
        if amount > 0:
            if kind in RETURN_KINDS:
                lots.extend(_returned_lots(amount, clawed.setdefault(_purchase_of(reference), []), covered))
                continue
            source = _purchase_of(reference) if kind == Transaction.Kind.PURCHASE else None
            lots.append([source, amount])
            continue
        need = -amount
        taken: list[list[int | None]] | None = None
        if kind in CLAWBACK_KINDS:
            own = _purchase_of(reference)
            taken = clawed.setdefault(own, [])
            for lot in lots:
                if lot[0] == own and need:
                    take = min(int(lot[1] or 0), need)
                    lot[1] = int(lot[1] or 0) - take
                    need -= take
                    if take:
                        taken.append([own, take])
        elif kind == Transaction.Kind.RECEIVABLE_COVER:
            taken = covered
        offset = 0
        while need and lots:
            lot = lots[0]
            take = min(int(lot[1] or 0), need)
            if take and lot[0] == purchase.pk and kind in SPEND_KINDS:
                funded.append(_FundedSpend(txn, kind, reference, -amount, offset, offset + take))
            if take and taken is not None:
                taken.append([lot[0], take])
            lot[1] = int(lot[1] or 0) - take
            need -= take
            offset += take
            if not lot[1]:
                lots.popleft()
    return funded


def _returned_lots(
    amount: int, clawed: list[list[int | None]], covered: list[list[int | None]]
) -> list[list[int | None]]:
    """The lots a wallet credit giving coins back restores: what the purchase's clawbacks took
    (newest first), then what covering its receivables used; anything beyond has no purchase."""
    lots: list[list[int | None]] = []
    left = amount
    for pool in (clawed, covered):
        while left and pool:
            source, coins = pool[-1]
            part = min(int(coins or 0), left)
            lots.append([source, part])
            left -= part
            if part == coins:
                pool.pop()
            else:
                pool[-1][1] = int(coins or 0) - part
    if left:
        lots.append([None, left])
    return lots


def funded_credits(purchase: CoinPurchase) -> list[FundedCredit]:
    """The creator credits this purchase's coins paid for, oldest first. Merch earnings still
    held in escrow (not shipped) are not credits yet and are not listed."""
    spends = _funded_spends(purchase)
    if not spends:
        return []
    credit_of: dict[int, int] = {spend.transaction_id: spend.transaction_id for spend in spends}
    merch = {
        spend.reference: spend.transaction_id for spend in spends if spend.kind == Transaction.Kind.MERCH
    }
    if merch:
        for release_id, reference in Transaction.objects.filter(
            kind=Transaction.Kind.MERCH_RELEASE, reference__in=list(merch)
        ).values_list("id", "reference"):
            credit_of[merch[reference]] = release_id
        for spend in spends:
            if (
                spend.kind == Transaction.Kind.MERCH
                and credit_of[spend.transaction_id] == spend.transaction_id
            ):
                del credit_of[spend.transaction_id]  # still in escrow
    entries = Entry.objects.filter(
        transaction_id__in=set(credit_of.values()),
        account__kind=Account.Kind.CREATOR_DIAMONDS,
        amount__gt=0,
    ).values_list("transaction_id", "account_id", "amount", "transaction__created_at")
    by_credit = {txn: (account, amount, at) for txn, account, amount, at in entries}
    credits = []
    for spend in spends:
        credit_txn = credit_of.get(spend.transaction_id)
        if credit_txn is None or credit_txn not in by_credit:
            continue
        account_id, diamonds, created_at = by_credit[credit_txn]
        # Exact split: the parts of one spend paid by different purchases add up to its diamonds.
        share = spend.end * diamonds // spend.coins - spend.start * diamonds // spend.coins
        if share > 0:
            credits.append(
                FundedCredit(
                    account_id=account_id,
                    transaction_id=credit_txn,
                    created_at=created_at,
                    coins=spend.end - spend.start,
                    diamonds=share,
                )
            )
    return credits


def hold_funded_earnings(*, purchase: CoinPurchase, dispute: PurchaseDispute) -> int:
    """A dispute opened: hold the creator credits the purchase funded; returns the diamonds held."""
    credits = funded_credits(purchase)
    EarningsHold.objects.bulk_create(
        [
            EarningsHold(
                dispute=dispute,
                account_id=credit.account_id,
                credit_transaction_id=credit.transaction_id,
                credit_created_at=credit.created_at,
                diamonds=credit.diamonds,
            )
            for credit in credits
        ],
        ignore_conflicts=True,
    )
    return sum(credit.diamonds for credit in credits)


@dataclass(frozen=True)
class Reversal:
    diamonds_reversed: int
    diamonds_lost: int


def _coins_taken_back(purchase: CoinPurchase) -> int:
    disputed = purchase.disputes.filter(clawed_back_at__isnull=False, reversed_at__isnull=True).aggregate(
        coins=Sum("coins")
    )
    return purchase.refunded_coins + int(disputed["coins"] or 0)


def _spent_coins_taken_back(purchase: CoinPurchase, credits: list[FundedCredit]) -> int:
    spent = sum(credit.coins for credit in credits)
    # Of the coins taken back, those beyond what the viewer had not spent were spent.
    return min(spent, max(0, _coins_taken_back(purchase) - (purchase.coins - spent)))


def reverse_funded_earnings(
    *, purchase: CoinPurchase, event_key: str, dispute: PurchaseDispute | None = None
) -> Reversal:
    """Take back, from the creators this purchase's spent coins paid, the unpaid part of what
    the coins taken back so far funded (unspent coins are taken back first). Idempotent: what
    earlier events took for the purchase is not taken again."""
    credits = funded_credits(purchase)
    target = _spent_coins_taken_back(purchase, credits)
    done_by_credit = dict(
        EarningsReversal.objects.filter(purchase=purchase, undone_at__isnull=True)
        .values("credit_transaction_id")
        .annotate(coins=Sum("coins"))
        .values_list("credit_transaction_id", "coins")
    )
    budget = target - sum(int(coins) for coins in done_by_credit.values())
    parts: list[tuple[FundedCredit, int, int]] = []  # credit, coins, diamonds
    for credit in credits:  # oldest first, like the viewer's spending
        if budget <= 0:
            break
        done = min(int(done_by_credit.get(credit.transaction_id, 0)), credit.coins)
        take = min(credit.coins - done, budget)
        if take <= 0:
            continue
        diamonds = (done + take) * credit.diamonds // credit.coins - done * credit.diamonds // credit.coins
        parts.append((credit, take, diamonds))
        budget -= take
    if not parts:
        return Reversal(diamonds_reversed=0, diamonds_lost=0)

    account_ids = sorted({credit.account_id for credit, _, _ in parts})
    # Locked in id order before reading balances: a payout starting now waits for this, gifts
    # (which only key-share the row for their credits) do not.
    list(
        Account.objects.select_for_update(no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk")
    )
    balances = {account_id: selectors.balance_of(account_id=account_id) for account_id in account_ids}
    rows: dict[int, list[EarningsReversal]] = {account_id: [] for account_id in account_ids}
    # Newest first: each credit's unpaid part is read after the newer ones were taken back.
    for credit, coins, diamonds in sorted(
        parts, key=lambda p: (p[0].created_at, p[0].transaction_id), reverse=True
    ):
        unpaid = earnings.unpaid_of_credit(
            account_id=credit.account_id,
            transaction_id=credit.transaction_id,
            created_at=credit.created_at,
            balance=balances[credit.account_id],
        )
        taken = min(diamonds, unpaid)
        balances[credit.account_id] -= taken
        rows[credit.account_id].append(
            EarningsReversal.objects.create(
                purchase=purchase,
                dispute=dispute,
                event_key=event_key,
                account_id=credit.account_id,
                credit_transaction_id=credit.transaction_id,
                credit_created_at=credit.created_at,
                coins=coins,
                diamonds_reversed=taken,
                diamonds_lost=diamonds - taken,
            )
        )
    issuance = services.system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND)
    total_reversed = total_lost = 0
    for account_id, account_rows in rows.items():
        taken = sum(row.diamonds_reversed for row in account_rows)
        total_reversed += taken
        total_lost += sum(row.diamonds_lost for row in account_rows)
        if not taken:
            continue
        # allow_frozen: a creator account frozen by staff still gives back diamonds it was not owed.
        posted = services.post_transaction(
            kind=Transaction.Kind.EARNINGS_REVERSAL,
            legs=[Leg(account_id, -taken), Leg(issuance, taken)],
            idempotency_key=f"earnings-reversal-{event_key}-{account_id}",
            reference=f"purchase:{purchase.pk}",
            memo=f"Chargeback reversal: coins of purchase #{purchase.pk} were refunded or charged back",
            allow_frozen=True,
        )
        EarningsReversal.objects.filter(pk__in=[row.pk for row in account_rows]).update(
            transaction_id=posted.id
        )
    logger.info(
        "earnings reversed",
        extra={"purchase": purchase.pk, "event": event_key, "reversed": total_reversed, "lost": total_lost},
    )
    return Reversal(diamonds_reversed=total_reversed, diamonds_lost=total_lost)


def restore_reversed_earnings(*, purchase: CoinPurchase, event_key: str) -> int:
    """A refund failed (`purchase.refunded_coins` already lowered): undo, newest first, the refund
    reversals that the coins still taken back no longer justify; a whole reversal comes back and
    what that leaves short is taken again under `event_key`. Returns the diamonds given back.
    Idempotent: undone reversals are marked and the ledger keys are per event."""
    target = _spent_coins_taken_back(purchase, funded_credits(purchase))
    active = EarningsReversal.objects.select_for_update().filter(purchase=purchase, undone_at__isnull=True)
    excess = sum(active.values_list("coins", flat=True)) - target
    undo: list[EarningsReversal] = []
    # Only refunds failed: a lost chargeback's reversals stay.
    for row in active.filter(dispute__isnull=True).order_by("-created_at", "-id"):
        if excess <= 0:
            break
        undo.append(row)
        excess -= row.coins
    if not undo:
        return 0
    account_ids = sorted({row.account_id for row in undo})
    list(
        Account.objects.select_for_update(no_key=True)
        .filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("pk")
    )
    issuance = services.system_account_id(Account.Kind.DIAMOND_ISSUANCE, Unit.DIAMOND)
    now = timezone.now()
    restored = 0
    for account_id in account_ids:
        rows = [row for row in undo if row.account_id == account_id]
        diamonds = sum(row.diamonds_reversed for row in rows)
        posted_id = None
        if diamonds:
            # The same diamonds the reversal un-issued, issued back: nothing is created.
            posted_id = services.post_transaction(
                kind=Transaction.Kind.EARNINGS_RESTORE,
                legs=[Leg(issuance, -diamonds), Leg(account_id, diamonds)],
                idempotency_key=f"earnings-restore-{event_key}-{account_id}",
                reference=f"purchase:{purchase.pk}",
                memo=f"Refund of purchase #{purchase.pk} failed: chargeback reversal undone",
                allow_frozen=True,
            ).id
        restored += diamonds
        EarningsReversal.objects.filter(pk__in=[row.pk for row in rows]).update(
            undone_at=now, undone_by_event=event_key, undo_transaction_id=posted_id
        )
    # A whole reversal undone may give back more than the failure justifies: take that part again.
    again = reverse_funded_earnings(purchase=purchase, event_key=event_key)
    logger.info(
        "earnings reversal undone",
        extra={
            "purchase": purchase.pk,
            "event": event_key,
            "restored": restored,
            "taken_again": again.diamonds_reversed,
        },
    )
    return restored - again.diamonds_reversed
