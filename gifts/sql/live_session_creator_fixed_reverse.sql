DROP TRIGGER IF EXISTS gifts_livesession_creator_fixed ON gifts_livesession;
DROP FUNCTION IF EXISTS gifts_livesession_refuse_new_creator();
