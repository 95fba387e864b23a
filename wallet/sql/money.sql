-- Money rules the database needs as well as Python; each has one Python twin in
-- wallet/earnings.py, and wallet/tests/test_money_rules_sql.py proves the two agree.
-- Idempotent (CREATE OR REPLACE), like ledger.sql.

-- The cash value of diamonds in whole cents at `rate` millicents a diamond, rounded down
-- (floor, as Python's `//`). Numeric arithmetic: the product never overflows and div/mod are
-- exact (numeric `/` would round its quotient to a display scale).
-- Python: wallet.earnings.diamonds_to_cents.
CREATE OR REPLACE FUNCTION wallet_diamonds_to_cents(diamonds bigint, rate bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (div(diamonds::numeric * rate, 1000)
            - CASE WHEN mod(diamonds::numeric * rate, 1000) < 0 THEN 1 ELSE 0 END)::bigint
$$;

-- The fewest diamonds worth `cents` at `rate`: ceil(cents * 1000 / rate), written as Python's
-- floor division (cents * 1000 + rate - 1) // rate. Python: wallet.earnings.diamonds_covering.
CREATE OR REPLACE FUNCTION wallet_diamonds_covering(cents bigint, rate bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (div(cents::numeric * 1000 + rate - 1, rate)
            - CASE WHEN mod(cents::numeric * 1000 + rate - 1, rate) <> 0
                    AND (mod(cents::numeric * 1000 + rate - 1, rate) < 0) <> (rate < 0)
                   THEN 1 ELSE 0 END)::bigint
$$;

-- What counts as earnings: every credit on a creator's diamond account except a returned
-- payout (`payout_return`) and a reversal a failed refund undid (`earnings_restore`, which
-- makes an old credit whole again rather than being a new one), less the parts refunds and
-- lost chargebacks took back (`wallet_earningsreversal` rows not undone), each part in its
-- credit's place in the order (created_at, transaction id). wallet/earnings.py explains how
-- the hold and payouts read this order.
CREATE OR REPLACE VIEW wallet_earnings_credit (account_id, transaction_id, created_at, diamonds) AS
SELECT e.account_id, t.id, t.created_at, e.amount::bigint
  FROM wallet_entry e JOIN wallet_transaction t ON t.id = e.transaction_id
 WHERE e.amount > 0 AND e.unit = 'DIAMOND' AND t.kind NOT IN ('payout_return', 'earnings_restore')
UNION ALL
SELECT r.account_id, r.credit_transaction_id, r.credit_created_at, -r.diamonds_reversed::bigint
  FROM wallet_earningsreversal r
 WHERE r.undone_at IS NULL;

-- Every creator diamond account (or those in `accounts`): its owner, exact balance (stored
-- balance plus pending deltas), the diamonds of it that are held at `cutoff` (as_of minus
-- EARNINGS_HOLD_DAYS), and whether it is frozen. Held: the credits newer than `cutoff`, or
-- from the oldest credit funded by a purchase under an open dispute that is not paid yet
-- (that credit and every newer one), whichever is more, capped at the balance.
-- One SELECT, not STRICT, STABLE: the planner inlines it, so `accounts` narrows every part.
CREATE OR REPLACE FUNCTION wallet_creator_earnings(cutoff timestamptz, accounts bigint[] DEFAULT NULL)
RETURNS TABLE (owner_id bigint, account_id bigint, balance bigint, held bigint, frozen boolean)
LANGUAGE sql STABLE AS $$
WITH recent AS (
    SELECT c.account_id, sum(c.diamonds)::bigint AS diamonds
      FROM wallet_earnings_credit c
     WHERE c.created_at > cutoff AND (accounts IS NULL OR c.account_id = ANY(accounts))
     GROUP BY c.account_id
), disputed AS (
    SELECT DISTINCT h.account_id, h.credit_transaction_id AS txn, h.credit_created_at AS at
      FROM wallet_earningshold h
      JOIN wallet_purchasedispute d ON d.id = h.dispute_id AND d.status = 'open'
     WHERE accounts IS NULL OR h.account_id = ANY(accounts)
), from_disputed AS (
    SELECT x.account_id,
           (SELECT COALESCE(sum(c.diamonds), 0) FROM wallet_earnings_credit c
             WHERE c.account_id = x.account_id AND (c.created_at, c.transaction_id) >= (x.at, x.txn)) AS through,
           (SELECT COALESCE(sum(c.diamonds), 0) FROM wallet_earnings_credit c
             WHERE c.account_id = x.account_id AND c.transaction_id = x.txn) AS own
      FROM disputed x
)
SELECT a.owner_id, a.id, bal.diamonds,
       LEAST(bal.diamonds, GREATEST(COALESCE(rc.diamonds, 0), COALESCE(fd.through, 0)))::bigint,
       a.frozen
  FROM wallet_account a
 CROSS JOIN LATERAL (
        SELECT wallet_balance(a.id) AS diamonds
       ) bal
  LEFT JOIN recent rc ON rc.account_id = a.id
  LEFT JOIN LATERAL (
        -- a disputed credit already paid in full holds nothing
        SELECT max(f.through) AS through FROM from_disputed f
         WHERE f.account_id = a.id AND f.through - f.own < bal.diamonds
       ) fd ON true
 WHERE a.kind = 'creator_diamonds' AND (accounts IS NULL OR a.id = ANY(accounts))
$$;
