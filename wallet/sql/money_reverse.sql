DROP FUNCTION IF EXISTS wallet_creator_earnings(timestamptz, bigint[]);
DROP VIEW IF EXISTS wallet_earnings_credit;
DROP FUNCTION IF EXISTS wallet_diamonds_covering(bigint, bigint);
DROP FUNCTION IF EXISTS wallet_diamonds_to_cents(bigint, bigint);
