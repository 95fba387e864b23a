"""Staff moderation: the audit log, balance adjustments, reports and the admin actions' plumbing.

Services here act on wallet rows; the creators and gifts apps keep their own moderation
services (they call `wallet.moderation.audit.record`), since wallet imports neither."""
