"""Creator payouts: payout accounts, weekly batches, and driving each payout through the
ledger and a payout provider exactly once, whatever crashes (see `services`)."""
