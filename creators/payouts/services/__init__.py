"""Creator payouts, one module per concern; callers import the module they need:

- `accounts`: connecting a creator's payout account and staff verifying it;
- `planning`: the period's batch of every eligible creator, staff approval, queueing it;
- `driving`: moving each payout's money exactly once (start, provider transfer, settle or return);
- `retries`: staff giving failed payouts a new attempt.

A payout moves money in three keyed steps, each a ledger transaction (one round trip, replay
of a key moves nothing) written in the same database transaction as the payout's new status:

    start   creator diamonds -> PAYOUTS_IN_FLIGHT          `<key>-start`   pending   -> in_flight
    (provider transfer, idempotency key `<key>`, outside any database transaction)
    settle  PAYOUTS_IN_FLIGHT -> PAID_OUT                   `<key>-settle`  in_flight -> paid
    return  PAYOUTS_IN_FLIGHT -> creator diamonds           `<key>-return`  in_flight -> failed

`<key>` is `payout-<id>` for the first attempt and `payout-<id>-a<n>` for a staff retry.
A crash before `start` commits leaves the payout pending; after it, the payout is in flight
and the next run drives it again: it asks the provider for the outcome of `<key>` (and sends
it again with the same key if the provider has none; providers dedupe), then settles or
returns. Whoever drives a payout claims it first (`SELECT ... FOR UPDATE SKIP LOCKED` plus a
lease, so five concurrent runs share the work and a crashed worker's claim runs out); the
claim is not what makes it exactly-once, the keys are: two drivers of the same payout send
the same key and post the same ledger keys.

Creators are paid once per batch (UNIQUE batch, creator) and have at most one open payout
(UNIQUE creator WHERE status IN (pending, in_flight)); one batch per period (UNIQUE period),
so concurrent runs of the weekly task share one batch.
"""
