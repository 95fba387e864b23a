DROP FUNCTION IF EXISTS wallet_creator_accounts();
DROP FUNCTION IF EXISTS wallet_display_name(bigint);
DROP FUNCTION IF EXISTS wallet_creator_entries(bigint, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS wallet_account_id(text, text, bigint);
DROP FUNCTION IF EXISTS wallet_balance(bigint);
