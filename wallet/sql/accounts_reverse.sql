DROP FUNCTION IF EXISTS wallet_account_id(text, text, bigint);
DROP FUNCTION IF EXISTS wallet_balance(bigint);
