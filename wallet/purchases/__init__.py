"""Buying coins with Stripe, split by flow.

pricing        the server's price for a package or a custom amount
checkout       the purchase page: start, SetupIntent, confirm, re-fetch
crediting      the one place a paid PaymentIntent becomes coins (exactly once)
receivables    clawbacks that cannot be covered, freezing, covering later
refunds        staff refunds, `charge.refunded` and chargebacks
chargebacks    what a refund or chargeback takes back from the creators the coins paid
webhooks       the inbox: store each event once, dispatch by type
reconciliation the periodic pass that catches what webhooks missed
selectors      purchase history and receipts
issues, locks  reconciliation issues kept for staff; the flows' named row locks

Rows are locked in one order everywhere: webhook event, purchase, dispute, the viewer's
wallet, then receivables; the ledger's own accounts are locked last by `post_transaction`.
"""
