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
-- the transactions it touched (all of a transaction's entries are written by one statement);
-- the posting function checks first, this guards every other writer.
CREATE OR REPLACE FUNCTION wallet_entry_check_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT e.transaction_id, e.unit, sum(e.amount) AS total INTO bad
      FROM wallet_entry e
     WHERE e.transaction_id IN (SELECT DISTINCT n.transaction_id FROM new_entries n)
     GROUP BY e.transaction_id, e.unit HAVING sum(e.amount) <> 0 LIMIT 1;
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
-- p_allow_frozen (CS423). Strict rows are updated in account-id order to avoid deadlocks.
-- With p_spender set, a new transaction also counts p_spent coins against that user's daily
-- cap p_cap (CS429 when it would pass it); a replay counts nothing.
CREATE OR REPLACE FUNCTION wallet_post_transaction(
    p_kind text, p_key text, p_fingerprint text, p_reference text, p_memo text,
    p_created_by bigint, p_accounts bigint[], p_amounts bigint[], p_allow_frozen boolean,
    p_spender bigint, p_spent bigint, p_cap bigint
) RETURNS TABLE (transaction_id bigint, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_fp text;
    v_now timestamptz := now();
    r record;
    v_legs int;
BEGIN
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

    SELECT count(*) INTO v_legs
      FROM unnest(p_accounts) AS u(acc) JOIN wallet_account a ON a.id = u.acc;
    IF v_legs <> cardinality(p_accounts) OR cardinality(p_accounts) <> cardinality(p_amounts)
       OR cardinality(p_accounts) < 2 THEN
        RAISE EXCEPTION 'transaction legs name unknown accounts' USING ERRCODE = 'CS422';
    END IF;
    IF EXISTS (
        SELECT 1 FROM unnest(p_accounts, p_amounts) AS u(acc, amt) JOIN wallet_account a ON a.id = u.acc
         GROUP BY a.unit HAVING sum(u.amt) <> 0
    ) OR EXISTS (SELECT 1 FROM unnest(p_amounts) AS u(amt) WHERE amt = 0 OR amt IS NULL) THEN
        RAISE EXCEPTION 'transaction % does not balance', p_key USING ERRCODE = 'CS422';
    END IF;

    FOR r IN
        SELECT a.id, a.posting, a.allow_negative, l.amount
          FROM (SELECT acc, sum(amt)::bigint AS amount FROM unnest(p_accounts, p_amounts) AS u(acc, amt) GROUP BY acc) l
          JOIN wallet_account a ON a.id = l.acc
         WHERE l.amount <> 0
         ORDER BY a.id
    LOOP
        IF r.posting = 'deferred' AND (r.amount > 0 OR r.allow_negative) THEN
            INSERT INTO wallet_accountdelta (account_id, amount) VALUES (r.id, r.amount);
        ELSE
            IF r.posting = 'deferred' THEN
                PERFORM wallet_roll_up_account(r.id);
            END IF;
            UPDATE wallet_account
               SET balance = balance + r.amount
             WHERE id = r.id
               AND (r.amount > 0 OR allow_negative OR balance + r.amount >= 0)
               AND (r.amount > 0 OR p_allow_frozen OR NOT frozen);
            IF NOT FOUND THEN
                IF EXISTS (SELECT 1 FROM wallet_account WHERE id = r.id AND frozen) AND NOT p_allow_frozen THEN
                    RAISE EXCEPTION 'account % is frozen', r.id USING ERRCODE = 'CS423', DETAIL = r.id::text;
                END IF;
                RAISE EXCEPTION 'insufficient funds in account %', r.id USING ERRCODE = 'CS402', DETAIL = r.id::text;
            END IF;
        END IF;
    END LOOP;

    INSERT INTO wallet_entry (transaction_id, account_id, unit, amount, created_at)
    SELECT v_id, u.acc, a.unit, u.amt, v_now
      FROM unnest(p_accounts, p_amounts) WITH ORDINALITY AS u(acc, amt, ord)
      JOIN wallet_account a ON a.id = u.acc
     ORDER BY u.ord;

    IF p_spender IS NOT NULL THEN
        INSERT INTO wallet_dailyspend AS ds (user_id, day, coins)
        VALUES (p_spender, (v_now AT TIME ZONE 'UTC')::date, p_spent)
        ON CONFLICT (user_id, day) DO UPDATE SET coins = ds.coins + EXCLUDED.coins
         WHERE ds.coins + EXCLUDED.coins <= p_cap;
        IF NOT FOUND OR p_spent > p_cap THEN
            RAISE EXCEPTION 'daily spending cap reached for user %', p_spender USING ERRCODE = 'CS429';
        END IF;
    END IF;

    RETURN QUERY SELECT v_id, true;
END;
$$;
