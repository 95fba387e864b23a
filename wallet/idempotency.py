"""The one idempotency contract of every money-moving request.

The key: a caller's idempotency key is 1 to 100 letters, digits, '-', '_', '.' or ':' starting
with a letter or digit (`KEY_PATTERN`); `check_key` refuses anything else with a 400
(`bad_idempotency_key`). Keys are the caller's own: every service scopes them by user.

The rule: a service takes the key and compares a fingerprint of the request, made of the
service's own canonical inputs (not an HTTP body). The first request with a key does the work;
a replay (same key, same request) returns the first result and moves nothing; the same key for
a different request raises `errors.IdempotencyConflict` (409). A request that fails leaves no
trace, so it may be retried with its key.

Where the first result lives:
- a service whose domain row can hold the key keys that row and compares the row with the
  request: a gift by its ledger transaction (`gift:<sender>:<key>`, the ledger compares the
  posting's fingerprint), an unlock and a merch order by their (user, key) unique row, a coin
  purchase by its page token, derived from (user, key);
- an action on an existing object, whose row cannot hold the caller's key (confirm a purchase,
  cancel or ship an order), runs through `once`: an `IdempotentRequest` row with a unique
  (user, key) holds the fingerprint and the first result, written in the same database
  transaction as the action. No cache is involved.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, IntegrityError, models, transaction

from wallet import errors
from wallet.models import IdempotentRequest, User

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
KEY_MAX_LENGTH = 100
KEY_INVALID = "An idempotency key of 1 to 100 letters, digits, '-', '_', '.' or ':' is required."
KEY_CODE = "bad_idempotency_key"

_KEY_RE = re.compile(KEY_PATTERN)

T = TypeVar("T")
M = TypeVar("M", bound=models.Model)


def is_valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY_RE.match(key) is not None


def check_key(key: object, *, extra: dict[str, Any] | None = None) -> str:
    """The key if it has the one format, else a 400 (`bad_idempotency_key`); `extra` says
    where the key came from (the field by default)."""
    if not is_valid_key(key):
        raise errors.InvalidRequest(
            KEY_INVALID, code=KEY_CODE, extra=extra if extra is not None else {"field": "idempotency_key"}
        )
    assert isinstance(key, str)
    return key


def fingerprint(*parts: object) -> str:
    """What "the same request" means: a digest of the service's canonical inputs, in order."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def once(
    *,
    user: User,
    key: str | None,
    request: tuple[object, ...],
    act: Callable[[], T],
    dump: Callable[[T], dict[str, Any]],
    load: Callable[[dict[str, Any]], T],
) -> T:
    """Run `act` once per (user, key): the first request claims the key, acts and records
    `dump(result)` in one database transaction; a replay gets `load(first result)` back without
    acting; the same key with another `request` (the action's canonical inputs) raises
    IdempotencyConflict. A concurrent request with the same key waits for the first to commit
    (the unique index), then replays it. If `act` raises, nothing is recorded. Without a key
    (the pages) the action runs as it is: it is idempotent per object on its own."""
    if key is None:
        return act()
    check_key(key)
    digest = fingerprint(*request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claimed = IdempotentRequest.objects.create(user=user, key=key, fingerprint=digest)
        except IntegrityError:
            first = IdempotentRequest.objects.get(user=user, key=key)
            if first.fingerprint != digest:
                raise errors.IdempotencyConflict() from None
            return load(first.result)
        result = act()
        claimed.result = dump(result)
        claimed.save(update_fields=["result"])
    return result


def _jsonable(value: object) -> object:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    return value


def row_snapshot(row: models.Model) -> dict[str, Any]:
    """A row's column values as JSON, for a first result that must read the same later."""
    return {field.attname: _jsonable(field.value_from_object(row)) for field in row._meta.concrete_fields}


def row_from_snapshot(model: type[M], snapshot: dict[str, Any]) -> M:
    """The row as `row_snapshot` saw it (not re-read: later changes do not show)."""
    row = model(
        **{
            field.attname: field.to_python(snapshot[field.attname])
            for field in model._meta.concrete_fields
            if field.attname in snapshot
        }
    )
    row._state.adding, row._state.db = False, DEFAULT_DB_ALIAS
    return row
