"""A local server speaking the FCM HTTP v1 API, for tests, benchmarks and development.

firebase-admin has no emulator for messaging; its endpoint is the seam. Point the real
client here with ``FCM_ENDPOINT`` and a service-account key whose ``token_uri`` is this
server's ``/token`` (``service_account_info`` makes one): the client then signs its JWT,
fetches an access token and sends every message over HTTP exactly as it would to FCM.

Tests script answers per identifier (``reject``, ``fail_for``), for the next calls whatever
their target (``fail_next``), or for the client's credentials (``refuse_token_requests``,
``revoke_access_tokens``); every message received is recorded with the answer it got. Run
it by hand to watch pushes:

    python -m notifications.stub_server --port 9099
    FCM_ENDPOINT=http://127.0.0.1:9099 FCM_CREDENTIALS_FILE=var/stub-key.json make serve
"""

import argparse
import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

ACCESS_TOKEN_REFUSED = "ACCESS_TOKEN_REFUSED"

# FCM error code → (HTTP status, canonical status, message)
ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "INVALID_ARGUMENT": (
        400,
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "UNAUTHENTICATED", "APNs certificate or key was invalid."),
    # Not FCM's own: Google's answer to a revoked or expired access token (no FcmError).
    ACCESS_TOKEN_REFUSED: (
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials.",
    ),
}


@dataclass
class Received:
    """One message as the stub saw it (the ``message`` object of the v1 request)."""

    project: str
    message: dict[str, Any]
    authorization: str
    error: str = ""  # the FCM error code answered, or "" when accepted
    name: str = ""  # the message name answered on success

    @property
    def accepted(self) -> bool:
        return not self.error

    @property
    def target(self) -> str:
        return self.message.get("token") or self.message.get("fid") or ""


@dataclass
class StubState:
    received: list[Received] = field(default_factory=list)
    # Identifiers answered with an error every time.
    unregistered: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)
    # Errors for the next calls, whatever their target (then success again).
    scripted: deque[str] = field(default_factory=deque)
    # Errors for the next calls to one identifier (then success again).
    scripted_for: dict[str, deque[str]] = field(default_factory=dict)
    token_requests: int = 0
    # The token endpoint refuses the grant (as for a revoked service-account key).
    refuse_token_requests: bool = False
    # Access tokens no longer accepted (``revoke_access_tokens``).
    revoked_tokens: set[str] = field(default_factory=set)
    latency: float = 0.0  # seconds each answer waits
    record_messages: bool = True
    count: int = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connections
    # Headers and body go out in two writes; without this, Nagle and delayed ACKs hold
    # every answer on a kept-alive connection for tens of milliseconds.
    disable_nagle_algorithm = True
    server: "StubFcmServer"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        state = self.server.state
        if state.latency:
            time.sleep(state.latency)
        if self.path.startswith("/token"):
            with self.server.lock:
                state.token_requests += 1
                token = f"stub-token-{next(self.server.token_numbers)}"
                self.server.issued_tokens.add(token)
            if state.refuse_token_requests:
                self._reply(
                    400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                )
                return
            self._reply(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
            return
        parts = self.path.split("/")  # /v1/projects/<project>/messages:send
        if len(parts) != 5 or parts[1] != "v1" or parts[4] != "messages:send":
            self._reply(
                404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}
            )
            return
        message = json.loads(raw or b"{}").get("message", {})
        received = Received(parts[3], message, self.headers.get("Authorization", ""))
        target = received.target
        with self.server.lock:
            number = next(self.server.counter)
            state.count += 1
            error = None
            if received.authorization.removeprefix("Bearer ") in state.revoked_tokens:
                error = ACCESS_TOKEN_REFUSED
            if error is None and state.scripted:
                error = state.scripted.popleft()
            if error is None and state.scripted_for.get(target):
                error = state.scripted_for[target].popleft()
            if error is None and target in state.unregistered:
                error = "UNREGISTERED"
            if error is None and target in state.invalid:
                error = "INVALID_ARGUMENT"
            if error is None:
                error = state.rejected.get(target)
            received.error = error or ""
            received.name = "" if error else f"projects/{parts[3]}/messages/{number}"
            if state.record_messages:
                state.received.append(received)
        if error is not None:
            status, canonical, text = ERRORS[error]
            answer: dict[str, Any] = {"code": status, "message": text, "status": canonical}
            if error != ACCESS_TOKEN_REFUSED:
                answer["details"] = [{"@type": FCM_ERROR_TYPE, "errorCode": error}]
            self._reply(status, {"error": answer})
            return
        self._reply(200, {"name": received.name})


class StubFcmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__((host, port), _Handler)
        self.state = StubState()
        self.counter = itertools.count(1)
        # Kept across ``reset``: a client keeps its access token from one test to the next.
        self.token_numbers = itertools.count(1)
        self.issued_tokens: set[str] = set()
        self.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> "StubFcmServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        """Stop answering, on kept-alive connections too: a stopped stub is unreachable."""
        if self._thread is not None:
            self.shutdown()
            self._thread = None
        self.server_close()
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def reset(self) -> None:
        with self.lock:
            self.state = StubState()

    def fail_next(self, *errors: str) -> None:
        """Answer the next calls with these FCM error codes, in order."""
        with self.lock:
            self.state.scripted.extend(errors)

    def fail_for(self, identifier: str, *errors: str) -> None:
        """Answer the next calls to ``identifier`` with these FCM error codes, in order."""
        with self.lock:
            self.state.scripted_for.setdefault(identifier, deque()).extend(errors)

    def reject(self, identifier: str, error: str) -> None:
        """Answer every call to ``identifier`` with this FCM error code."""
        with self.lock:
            self.state.rejected[identifier] = error

    def revoke_access_tokens(self) -> None:
        """Refuse every access token handed out so far (401 without an FCM error code)."""
        with self.lock:
            self.state.revoked_tokens |= self.issued_tokens

    @property
    def accepted(self) -> list[Received]:
        with self.lock:
            return [received for received in self.state.received if received.accepted]


def service_account_info(token_uri: str, project_id: str = "linli-local") -> dict[str, str]:
    """A service-account key, freshly generated, whose token endpoint is ``token_uri``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "local",
        "private_key": pem,
        "client_email": f"push@{project_id}.local",
        "client_id": "1",
        "token_uri": token_uri,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--key-file", default="var/stub-key.json", help="where to write a key")
    args = parser.parse_args()
    server = StubFcmServer(port=args.port, verbose=True)
    key_file = Path(args.key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps(service_account_info(server.url + "/token")))
    print(f"FCM stub on {server.url}; key in {key_file}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
