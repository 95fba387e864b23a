-- The ledger's database rules. Loaded by wallet/migrations/0002_ledger_rules.py; reversed by ledger_reverse.sql.

-- Entries are append-only: corrections are new (reversing) transactions, never edits.
CREATE OR REPLACE FUNCTION wallet_entry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused on wallet_entry', TG_OP
        USING ERRCODE = 'CS403';
END;
$$;

DROP TRIGGER IF EXISTS wallet_entry_append_only ON wallet_entry;
CREATE TRIGGER wallet_entry_append_only
    BEFORE UPDATE OR DELETE ON wallet_entry
    FOR EACH ROW EXECUTE FUNCTION wallet_entry_refuse_change();

-- TRUNCATE stays possible for the test harness's flush; production revokes TRUNCATE from the app's role.

-- Every transaction's entries sum to zero per unit. Checked once per INSERT statement over
-- the rows it inserted: entries are never updated or deleted, so if every statement's own rows
-- net to zero per transaction and unit, every transaction does (a statement adding rows to an
-- older transaction must balance them itself). It is the check for the posting function's
-- entries too (CS422) and for every other writer, and reads only the statement's rows, not the table.
CREATE OR REPLACE FUNCTION wallet_entry_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.transaction_id, n.unit, sum(n.amount) AS total INTO bad
      FROM new_entries n
     GROUP BY n.transaction_id, n.unit HAVING sum(n.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaction % does not balance: % % left over', bad.transaction_id, bad.total, bad.unit
            USING ERRCODE = 'CS422';
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS wallet_entry_balanced ON wallet_entry;
CREATE TRIGGER wallet_entry_balanced
    AFTER INSERT ON wallet_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION wallet_entry_check_balanced();

-- Fold a deferred account's pending deltas into its balance. The account row is locked
-- first (FOR NO KEY UPDATE, which does not block concurrent delta inserts' key-share
-- locks), so two rollups of one account serialize instead of deadlocking.
CREATE OR REPLACE FUNCTION wallet_roll_up_account(p_account bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_sum bigint;
BEGIN
    PERFORM 1 FROM wallet_account WHERE id = p_account FOR NO KEY UPDATE;
    WITH d AS (DELETE FROM wallet_accountdelta WHERE account_id = p_account RETURNING amount)
    SELECT COALESCE(sum(amount), 0) INTO v_sum FROM d;
    IF v_sum <> 0 THEN
        UPDATE wallet_account SET balance = balance + v_sum WHERE id = p_account;
    END IF;
    RETURN v_sum;
END;
$$;

-- Post one balanced transaction in one round trip.
-- Replaying a key returns the first transaction (created = false); the same key with a
-- different fingerprint raises CS409. Debits are conditional updates: a user or creator
-- balance never goes below zero (CS402), a frozen account cannot be debited unless
-- p_allow_frozen (CS423). With p_spender set, a new transaction also counts p_spent coins
-- against that user's daily cap p_cap (CS429 when it would pass it); a replay counts nothing.
--
-- Few statements, because each costs far more than the rows it touches: one read of the legs'
-- accounts, the transaction row, then every move in ONE statement (in-place updates, deltas,
-- entries, the daily cap). Any failure raises, which undoes the whole call. Each unit netting to
-- zero is checked by wallet_entry_balanced on the entries this inserts (CS422). Rows updated
-- in place are locked in account-id order when there are several, so postings cannot deadlock.
CREATE OR REPLACE FUNCTION wallet_post_transaction(
    p_kind text, p_key text, p_fingerprint text, p_reference text, p_memo text,
    p_created_by bigint, p_accounts bigint[], p_amounts bigint[], p_allow_frozen boolean,
    p_spender bigint, p_spent bigint, p_cap bigint
) RETURNS TABLE (transaction_id bigint, created boolean)
LANGUAGE plpgsql
-- Every statement below looks rows up by key, so one generic plan per statement is right.
-- Left to choose, the plan cache re-planned the joins over the legs on every call (its
-- generic estimate for unnest() is 10 rows), which cost more than running them.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_id bigint;
    v_fp text;
    v_now timestamptz := now();
    v_units text[];
    v_known int;
    v_zero boolean;
    v_in_place bigint[];  -- accounts whose balance row is updated, in id order ...
    v_in_place_amounts bigint[];  -- ... by these net amounts
    v_delta_accounts bigint[];  -- deferred accounts credited (or allowed negative): deltas
    v_delta_amounts bigint[];
    v_roll_up bigint[];  -- deferred accounts debited: folded first, then updated in place
    v_updated int;
    v_counted int;
    v_failed record;
BEGIN
    WITH legs AS (
        SELECT u.acc, u.amt, u.ord, a.id AS known, a.unit, a.posting, a.allow_negative
          FROM unnest(p_accounts, p_amounts) WITH ORDINALITY AS u(acc, amt, ord)
          LEFT JOIN wallet_account a ON a.id = u.acc
    ), net AS (
        SELECT acc, sum(amt)::bigint AS amount, bool_and(posting = 'deferred') AS deferred,
               bool_and(allow_negative) AS allow_negative
          FROM legs GROUP BY acc
    ), moves AS (
        SELECT acc, amount, deferred AND (amount > 0 OR allow_negative) AS as_delta,
               deferred AND amount < 0 AND NOT allow_negative AS roll_up
          FROM net WHERE amount <> 0
    )
    SELECT (SELECT array_agg(unit ORDER BY ord) FROM legs),
           (SELECT count(known) FROM legs),
           (SELECT coalesce(bool_or(amt IS NULL OR amt = 0), false) FROM legs),
           (SELECT array_agg(acc ORDER BY acc) FROM moves WHERE NOT as_delta),
           (SELECT array_agg(amount ORDER BY acc) FROM moves WHERE NOT as_delta),
           (SELECT array_agg(acc ORDER BY acc) FROM moves WHERE as_delta),
           (SELECT array_agg(amount ORDER BY acc) FROM moves WHERE as_delta),
           (SELECT array_agg(acc ORDER BY acc) FROM moves WHERE roll_up)
      INTO v_units, v_known, v_zero, v_in_place, v_in_place_amounts, v_delta_accounts, v_delta_amounts, v_roll_up;
    IF v_known <> cardinality(p_accounts) OR cardinality(p_accounts) <> cardinality(p_amounts)
       OR cardinality(p_accounts) < 2 THEN
        RAISE EXCEPTION 'transaction legs name unknown accounts' USING ERRCODE = 'CS422';
    END IF;
    IF v_zero THEN
        RAISE EXCEPTION 'transaction % has a zero or missing amount', p_key USING ERRCODE = 'CS422';
    END IF;

    INSERT INTO wallet_transaction (kind, idempotency_key, fingerprint, reference, memo, created_by_id, created_at)
    VALUES (p_kind, p_key, p_fingerprint, p_reference, p_memo, p_created_by, v_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO v_id;

    IF v_id IS NULL THEN
        SELECT t.id, t.fingerprint INTO v_id, v_fp FROM wallet_transaction t WHERE t.idempotency_key = p_key;
        IF v_fp IS DISTINCT FROM p_fingerprint THEN
            RAISE EXCEPTION 'idempotency key % was used for a different transaction', p_key
                USING ERRCODE = 'CS409';
        END IF;
        RETURN QUERY SELECT v_id, false;
        RETURN;
    END IF;

    IF cardinality(v_in_place) > 1 THEN
        PERFORM 1 FROM wallet_account WHERE id = ANY (v_in_place) ORDER BY id FOR NO KEY UPDATE;
    END IF;
    IF v_roll_up IS NOT NULL THEN
        PERFORM wallet_roll_up_account(r) FROM unnest(v_roll_up) AS r ORDER BY r;
    END IF;

    WITH updated AS (
        UPDATE wallet_account a
           SET balance = a.balance + m.amount
          FROM unnest(v_in_place, v_in_place_amounts) AS m(id, amount)
         WHERE a.id = m.id
           AND (m.amount > 0 OR a.allow_negative OR a.balance + m.amount >= 0)
           AND (m.amount > 0 OR p_allow_frozen OR NOT a.frozen)
        RETURNING 1
    ), deltas AS (
        INSERT INTO wallet_accountdelta (account_id, amount)
        SELECT d.id, d.amount FROM unnest(v_delta_accounts, v_delta_amounts) AS d(id, amount)
    ), entries AS (
        INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at)
        SELECT v_id, e.acc, e.unit, e.amt, v_now
          FROM unnest(p_accounts, v_units, p_amounts) WITH ORDINALITY AS e(acc, unit, amt, ord)
         ORDER BY e.ord
    ), counted AS (
        INSERT INTO wallet_dailyspend AS ds (user_id, day, coins)
        SELECT p_spender, (v_now AT TIME ZONE 'UTC')::date, p_spent WHERE p_spender IS NOT NULL
        ON CONFLICT (user_id, day) DO UPDATE SET coins = ds.coins + EXCLUDED.coins
         WHERE ds.coins + EXCLUDED.coins <= p_cap
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM counted) INTO v_updated, v_counted;

    IF v_updated < coalesce(cardinality(v_in_place), 0) THEN
        SELECT m.id, a.frozen AND NOT p_allow_frozen AS frozen INTO v_failed
          FROM unnest(v_in_place, v_in_place_amounts) AS m(id, amount)
          JOIN wallet_account a ON a.id = m.id
         WHERE m.amount < 0
         ORDER BY (a.frozen AND NOT p_allow_frozen) DESC, (a.balance + m.amount < 0) DESC, m.id
         LIMIT 1;
        IF v_failed.frozen THEN
            RAISE EXCEPTION 'account % is frozen', v_failed.id USING ERRCODE = 'CS423', DETAIL = v_failed.id::text;
        END IF;
        RAISE EXCEPTION 'insufficient funds in account %', v_failed.id USING ERRCODE = 'CS402', DETAIL = v_failed.id::text;
    END IF;
    IF p_spender IS NOT NULL AND (v_counted = 0 OR p_spent > p_cap) THEN
        RAISE EXCEPTION 'daily spending cap reached for user %', p_spender USING ERRCODE = 'CS429';
    END IF;

    RETURN QUERY SELECT v_id, true;
END;
$$;
