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
