"""CoinSite fault drills: `make drills` (python -m drills), and a small size inside `make test`.

Each drill starts real processes (threads with their own PostgreSQL connections, Celery
workers and beat), breaks something, and ends by running the ledger check and comparing
totals: 0 lost and 0 doubled coins, diamonds or payouts."""
