-- Account lookups and the exact balance, for the wallet's own SQL and for other apps' SQL (which
-- call these instead of reading wallet tables). Loaded by wallet/migrations/0014_provisioned_accounts.py;
-- reversed by accounts_reverse.sql.

-- The exact balance of an account: its settled balance plus its pending (not yet rolled up)
-- deltas. NULL when there is no such account.
CREATE OR REPLACE FUNCTION wallet_balance(p_account bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (a.balance + COALESCE((SELECT sum(d.amount) FROM wallet_accountdelta d WHERE d.account_id = a.id), 0))::bigint
      FROM wallet_account a WHERE a.id = p_account
$$;

-- The id of the account of `p_kind` in `p_unit` owned by `p_owner` (NULL: the system account).
-- Accounts are provisioned (system accounts by migration, a user's coin wallet when the user is
-- created, a creator's diamonds at approval), never created on demand: a missing one raises CS404.
CREATE OR REPLACE FUNCTION wallet_account_id(p_kind text, p_unit text, p_owner bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_owner IS NULL THEN
        SELECT a.id INTO v_id FROM wallet_account a WHERE a.kind = p_kind AND a.unit = p_unit AND a.owner_id IS NULL;
    ELSE
        SELECT a.id INTO v_id FROM wallet_account a WHERE a.kind = p_kind AND a.unit = p_unit AND a.owner_id = p_owner;
    END IF;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'no % account in % for %', p_kind, p_unit, COALESCE('user ' || p_owner, 'the system')
            USING ERRCODE = 'CS404';
    END IF;
    RETURN v_id;
END;
$$;

-- Entries on creator diamond accounts (`p_account`, or every creator's when NULL) of ledger
-- transactions created in [p_from, p_until) (a NULL bound is open), with the transaction's kind
-- and start time, and for a credit the user whose coin wallet paid in the same transaction (a
-- gift, an unlock; NULL otherwise). The creators app rolls its earnings up from this and reads
-- its live tail through it. A single SQL SELECT, so the planner inlines it into the caller's query.
CREATE OR REPLACE FUNCTION wallet_creator_entries(p_account bigint, p_from timestamptz, p_until timestamptz)
RETURNS TABLE (account_id bigint, transaction_id bigint, created_at timestamptz, kind text, amount bigint, payer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT e.account_id, t.id, t.created_at, t.kind::text, e.amount,
           CASE WHEN e.amount > 0 THEN (
               -- The first debit of a coin wallet in the transaction. The debits are found through
               -- the entry index on transaction_id first (OFFSET 0), then each account by primary
               -- key: never a loop over every viewer account.
               SELECT ca.owner_id
                 FROM (SELECT e2.id, e2.account_id FROM wallet_entry e2
                        WHERE e2.transaction_id = t.id AND e2.amount < 0 OFFSET 0) debit
                 JOIN LATERAL (SELECT a2.owner_id, a2.kind FROM wallet_account a2 WHERE a2.id = debit.account_id) ca
                   ON ca.kind = 'user_coins'
                ORDER BY debit.id LIMIT 1
           ) END
      FROM wallet_transaction t
      JOIN wallet_entry e ON e.transaction_id = t.id
      JOIN wallet_account a ON a.id = e.account_id
     WHERE a.kind = 'creator_diamonds'
       AND (p_account IS NULL OR e.account_id = p_account)
       AND (p_from IS NULL OR t.created_at >= p_from)
       AND (p_until IS NULL OR t.created_at < p_until)
$$;

-- A user's display name (what `wallet.models.public_name` turns into the name others see), for
-- other apps' SQL that lists users; NULL for no such user.
CREATE OR REPLACE FUNCTION wallet_display_name(p_user bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT u.display_name::text FROM wallet_user u WHERE u.id = p_user
$$;

-- Every creator diamond account: its owner, id and whether staff froze it, for other apps' SQL
-- that joins creators to their accounts (e.g. planning payouts). Inlined like a view.
CREATE OR REPLACE FUNCTION wallet_creator_accounts()
RETURNS TABLE (owner_id bigint, account_id bigint, frozen boolean)
LANGUAGE sql STABLE AS $$
    SELECT a.owner_id, a.id, a.frozen FROM wallet_account a
     WHERE a.kind = 'creator_diamonds' AND a.unit = 'DIAMOND'
$$;
