"""A tiny local stand-in for Stripe's Connect transfer endpoints, serving the recorded response
shapes in creators/tests/fixtures/stripe_connect/ to the real stripe SDK (STRIPE_API_BASE
points here). It keeps what the code relies on: an Idempotency-Key seen before gets the first
response back, transfers can be listed by transfer group, reversals add up on the transfer."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe_connect"


def fixture(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return result


@dataclass
class Call:
    method: str
    path: str
    idempotency_key: str
    params: dict[str, str]


@dataclass
class StripeConnectStub:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Destinations Stripe refuses (a 400 with this error fixture) or answers with a 500.
    refuse: dict[str, str] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    _replies: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path_prefix: str = "/v1/transfers") -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path.startswith(path_prefix)]

    def handle(self, method: str, path: str, key: str, params: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            self.calls.append(Call(method, path, key, params))
            if method == "POST" and key and key in self._replies:
                status, body = self._replies[key]
                return status, json.loads(body)
            status, body = self._route(method, path, params)
            if method == "POST" and key and status < 500:
                self._replies[key] = (status, json.dumps(body).encode())
            return status, body

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["v1", "transfers"]:
            return 404, {
                "error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})."}
            }
        if method == "POST" and len(parts) == 2:
            return self._create(params)
        if method == "GET" and len(parts) == 2:
            listing = fixture("transfer_list")
            group = params.get("transfer_group")
            listing["data"] = [
                t for t in self.transfers.values() if group is None or t["transfer_group"] == group
            ]
            return 200, listing
        transfer = self.transfers.get(parts[2]) if len(parts) > 2 else None
        if transfer is None:
            return 404, {
                "error": {
                    "code": "resource_missing",
                    "message": f"No such transfer: '{parts[2] if len(parts) > 2 else ''}'",
                    "param": "id",
                    "type": "invalid_request_error",
                }
            }
        if method == "GET" and len(parts) == 3:
            return 200, transfer
        if method == "POST" and parts[3:] == ["reversals"]:
            amount = int(params.get("amount") or transfer["amount"] - transfer["amount_reversed"])
            reversal = fixture("transfer_reversal")
            reversal.update(
                id=f"trr_1NORMALISED{len(self.calls):012d}",
                amount=amount,
                transfer=transfer["id"],
                metadata=_metadata(params),
            )
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
            transfer["reversals"]["data"].insert(0, reversal)
            transfer["reversals"]["total_count"] += 1
            return 200, reversal
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL."}}

    def _create(self, params: dict[str, str]) -> tuple[int, Any]:
        destination = params.get("destination", "")
        if destination in self.down:
            return 500, fixture("error_api_error")
        if destination in self.refuse:
            return 400, fixture(self.refuse[destination])
        transfer = fixture("transfer")
        transfer_id = f"tr_1NORMALISED{len(self.transfers) + 1:012d}"
        transfer.update(
            id=transfer_id,
            amount=int(params["amount"]),
            currency=params["currency"],
            destination=destination,
            transfer_group=params.get("transfer_group"),
            metadata=_metadata(params),
        )
        transfer["reversals"]["url"] = f"/v1/transfers/{transfer_id}/reversals"
        self.transfers[transfer_id] = transfer
        return 200, copy.deepcopy(transfer)


def _metadata(params: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")}


@contextmanager
def running_stub() -> Iterator[StripeConnectStub]:
    stub = StripeConnectStub()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = dict(parse_qsl(parts.query)) | dict(parse_qsl(body))
            status, payload = stub.handle(
                self.command, parts.path, self.headers.get("Idempotency-Key", ""), params
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", "req_NORMALISED")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
