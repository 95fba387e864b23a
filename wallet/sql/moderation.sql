-- The audit log is append-only, like wallet_entry. Loaded by wallet/migrations/0005_audit_append_only.py;
-- reversed by moderation_reverse.sql.
CREATE OR REPLACE FUNCTION wallet_auditentry_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused on wallet_auditentry', TG_OP
        USING ERRCODE = 'CS403';
END;
$$;

DROP TRIGGER IF EXISTS wallet_auditentry_append_only ON wallet_auditentry;
CREATE TRIGGER wallet_auditentry_append_only
    BEFORE UPDATE OR DELETE ON wallet_auditentry
    FOR EACH ROW EXECUTE FUNCTION wallet_auditentry_refuse_change();

-- TRUNCATE stays possible for the test harness's flush; production revokes TRUNCATE from the app's role.
