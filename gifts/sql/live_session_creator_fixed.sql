-- A live session's creator never changes: its gifts and the diamonds they earned belong to that creator.
-- Loaded by gifts/migrations/0003_live_session_creator_fixed.py; reversed by live_session_creator_fixed_reverse.sql.
CREATE OR REPLACE FUNCTION gifts_livesession_refuse_new_creator() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a live session''s creator cannot be changed (session %)', OLD.id
        USING ERRCODE = 'CS403';
END;
$$;

DROP TRIGGER IF EXISTS gifts_livesession_creator_fixed ON gifts_livesession;
CREATE TRIGGER gifts_livesession_creator_fixed
    BEFORE UPDATE OF creator_id ON gifts_livesession
    FOR EACH ROW
    WHEN (NEW.creator_id IS DISTINCT FROM OLD.creator_id)
    EXECUTE FUNCTION gifts_livesession_refuse_new_creator();
