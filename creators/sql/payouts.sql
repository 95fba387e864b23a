-- Payout eligibility, the one definition: the batch plans from it and the studio (page and
-- API) shows it. Idempotent (CREATE OR REPLACE).
--
-- One row per creator with a diamond account (or only those accounts in `accounts`): the
-- payable diamonds' whole cents at `rate` (balance less what the earnings hold and open
-- chargebacks hold at `cutoff`, from wallet's `wallet_creator_earnings`), the fewest diamonds
-- covering those cents, the creator's payout account, and `eligible`: the creator is approved,
-- the payout account verified, the wallet not frozen, the cents at least `minimum` (and at
-- least one), and no payout of the creator is pending or in flight.
CREATE OR REPLACE FUNCTION creators_payout_candidates(
    cutoff timestamptz, rate bigint, minimum bigint, accounts bigint[] DEFAULT NULL)
RETURNS TABLE (creator_id bigint, payout_account_id bigint, provider text, destination text,
               cents bigint, diamonds bigint, eligible boolean)
LANGUAGE sql STABLE AS $$
SELECT c.id, pa.id, pa.provider::text, pa.destination::text, v.cents,
       wallet_diamonds_covering(v.cents, rate),
       COALESCE(c.status = 'approved' AND pa.status = 'verified' AND NOT w.frozen
                AND v.cents >= GREATEST(minimum, 1)
                AND NOT EXISTS (SELECT 1 FROM creators_payout p
                                 WHERE p.creator_id = c.id AND p.status IN ('pending', 'in_flight')),
                false)
  FROM wallet_creator_earnings(cutoff, accounts) w
  JOIN creators_creator c ON c.user_id = w.owner_id
  LEFT JOIN creators_payoutaccount pa ON pa.creator_id = c.id
 CROSS JOIN LATERAL (SELECT wallet_diamonds_to_cents(w.balance - w.held, rate) AS cents) v
$$;
