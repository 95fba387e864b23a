DROP TRIGGER IF EXISTS wallet_auditentry_append_only ON wallet_auditentry;
DROP FUNCTION IF EXISTS wallet_auditentry_refuse_change();
