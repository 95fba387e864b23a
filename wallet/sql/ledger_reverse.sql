DROP FUNCTION IF EXISTS wallet_post_transaction(text, text, text, text, text, bigint, bigint[], bigint[], boolean, bigint, bigint, bigint);
DROP FUNCTION IF EXISTS wallet_roll_up_account(bigint);
DROP TRIGGER IF EXISTS wallet_entry_balanced ON wallet_entry;
DROP FUNCTION IF EXISTS wallet_entry_check_balanced();
DROP TRIGGER IF EXISTS wallet_entry_append_only ON wallet_entry;
DROP FUNCTION IF EXISTS wallet_entry_refuse_change();
