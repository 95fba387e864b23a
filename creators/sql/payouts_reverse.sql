DROP FUNCTION IF EXISTS creators_payout_candidates(timestamptz, bigint, bigint, bigint[]);
