"""Prepared statements for the hot paths.

Django's PostgreSQL cursors bind parameters on the client (the SQL sent is the text with the
values in it), so PostgreSQL parses and plans every statement afresh. `prepared_cursor()` gives
a cursor on the same connection, in the same transaction, that binds on the server and
prepares: a statement run again on that connection skips parsing and planning. The ledger's
posting statement and the live broadcaster's state query use it.

Parameters are typed on the server, so the SQL casts those PostgreSQL cannot infer
(`%s::bigint`, `%s::bigint[]`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection


class _PreparedCursor(psycopg.Cursor[Any]):
    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True, **kwargs)


def prepared_cursor() -> Any:
    """A cursor of the default connection whose statements are prepared (use it as a context
    manager, like `connection.cursor()`)."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _PreparedCursor(connection.connection)
    # Wrapped like Django's own cursors: errors become django.db errors, and queries are
    # logged when DEBUG (or a test) asks for it.
    return connection._prepare_cursor(raw)  # type: ignore[attr-defined]
