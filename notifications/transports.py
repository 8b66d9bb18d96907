"""Where pushes go: Firebase Cloud Messaging through firebase-admin, or the local log.

``PUSH_TRANSPORT=fcm`` sends through the real firebase-admin client (FCM HTTP v1) with the
credentials of ``FCM_CREDENTIALS_FILE`` or ``FCM_CREDENTIALS_JSON``. ``FCM_ENDPOINT`` points
the client at another server speaking the FCM v1 API: the stub of the tests and benchmarks
(``notifications.stub_server``), which developers can run too. The embedded default uses
``local``: pushes are written to the log and count as sent.
"""

import contextlib
import datetime as dt
import json
import logging
import threading
import urllib.parse
import urllib.request
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("notifications.push")

# FCM keeps an undelivered message at most four weeks.
MAX_TIME_TO_LIVE = dt.timedelta(weeks=4)


@dataclass(frozen=True)
class PushMessage:
    identifier: str
    identifier_kind: str  # DeviceIdentifierKind
    platform: str  # DevicePlatform
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    urgent: bool = False
    # Same tag on the phone: a later message replaces the earlier one (a superseding update,
    # or the same notification delivered twice after a worker crash).
    tag: str = ""
    collapse_key: str = ""
    time_to_live: dt.timedelta = MAX_TIME_TO_LIVE
    # The moment the push becomes pointless, when there is one (APNs wants the moment).
    expires_at: dt.datetime | None = None


class Outcome(StrEnum):
    SENT = "sent"
    DEVICE_GONE = "device_gone"  # unregistered or invalid identifier: stop using the device
    RETRY = "retry"  # the service is unavailable or over quota: try again later
    FAILED = "failed"  # anything else: recorded, not retried


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    message_id: str = ""
    error_code: str = ""
    error_message: str = ""


class PushTransport(Protocol):
    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """One result per message, in order. At most ``BATCH_SIZE`` messages a call."""
        ...


BATCH_SIZE = 500  # the most firebase-admin's send_each takes in one call


class LocalTransport:
    """The embedded default: each push is a log line, and counts as sent."""

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results = []
        for message in messages:
            logger.info(
                "push to %s %s…: %s — %s",
                message.platform,
                message.identifier[:12],
                message.title,
                message.body,
            )
            results.append(PushResult(Outcome.SENT, message_id=f"local/{uuid.uuid4()}"))
        return results


class FirebaseTransport:
    """FCM HTTP v1 through firebase-admin's ``send_each`` (one request per message, sent
    from the client's thread pool).

    Retries are ours, not the HTTP client's: a 5xx or quota answer comes back at once as
    RETRY and the delivery row is tried again later with backoff, so a flapping service
    neither blocks a worker thread for seconds nor loses the retry when a worker restarts.
    """

    APP_NAME = "linli-push"

    def __init__(
        self, credentials: Any, project_id: str | None = None, endpoint: str | None = None
    ) -> None:
        import firebase_admin
        from firebase_admin import messaging

        with contextlib.suppress(ValueError):
            firebase_admin.delete_app(firebase_admin.get_app(self.APP_NAME))
        options = {"projectId": project_id} if project_id else {}
        self.app = firebase_admin.initialize_app(credentials, options, name=self.APP_NAME)
        service = messaging._get_messaging_service(self.app)
        if endpoint:
            # The seam documented for tests: the service's send URL. Set on this app's
            # service only, so another app of the process still reaches FCM itself.
            service._fcm_url = messaging._MessagingService.FCM_URL.replace(
                "https://fcm.googleapis.com", endpoint.rstrip("/")
            ).format(service._project_id)
        self._tune_http_client(service, endpoint)
        self._credential = service._credential
        self._token_lock = threading.Lock()
        self._messaging = messaging

    @staticmethod
    def _tune_http_client(service: Any, endpoint: str | None) -> None:
        """Keep a connection per sending thread, and leave retries to the delivery rows."""
        import requests
        from urllib3.util.retry import Retry

        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4,
            pool_maxsize=BATCH_SIZE,
            max_retries=Retry(connect=1, read=0, status=0, redirect=0, raise_on_status=False),
        )
        prefix = endpoint.rstrip("/") if endpoint else service._fcm_url.split("/v1/")[0]
        service._client.session.mount(prefix, adapter)
        # FCM answers 401 for an APNs key Apple refused (THIRD_PARTY_AUTH_ERROR) as well as
        # for a refused access token. The session would take every 401 for the second kind:
        # fetch a new access token and send again, once per message. ``send`` looks after the
        # access token itself (``_refresh_access_token``, ``_result``).
        service._client.session._refresh_status_codes = ()
        # requests looks up proxy variables in the environment on every call (a scan of the
        # whole environment, twice); resolve them once here instead.
        session = service._client.session
        host = urllib.parse.urlsplit(prefix).hostname or ""
        session.proxies = {} if urllib.request.proxy_bypass(host) else urllib.request.getproxies()
        session.trust_env = False

    def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        if not messages:
            return []
        built = [self._build(message) for message in messages]
        self._refresh_access_token()
        response = self._messaging.send_each(built, app=self.app)
        return [self._result(item) for item in response.responses]

    def _refresh_access_token(self) -> None:
        """Fetch the access token once per batch, before the client's threads start: left
        to them, each finds no valid token and makes its own grant, up to 500 at once on
        every start and every hour. A refused grant fails the batch as a whole."""
        with self._token_lock:
            if not self._credential.valid:
                from google.auth.transport.requests import Request

                self._credential.refresh(Request())

    def _build(self, message: PushMessage) -> Any:
        m = self._messaging
        seconds = max(0, int(message.time_to_live.total_seconds()))
        expires = (
            message.expires_at
            if message.expires_at is not None
            else dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        )
        target: dict[str, str] = (
            {"fid": message.identifier}
            if message.identifier_kind == "fid"
            else {"token": message.identifier}
        )
        with warnings.catch_warnings():
            # Registration tokens are still what most installed apps report.
            warnings.simplefilter("ignore", DeprecationWarning)
            return m.Message(
                notification=m.Notification(title=message.title, body=message.body),
                data=message.data,
                android=m.AndroidConfig(
                    priority="high" if message.urgent else "normal",
                    ttl=seconds,
                    collapse_key=message.collapse_key or None,
                    notification=m.AndroidNotification(tag=message.tag or None),
                ),
                apns=m.APNSConfig(
                    headers={
                        "apns-priority": "10" if message.urgent else "5",
                        "apns-push-type": "alert",
                        "apns-expiration": str(int(expires.timestamp())),
                        **({"apns-collapse-id": message.tag} if message.tag else {}),
                    },
                    payload=m.APNSPayload(aps=m.Aps(sound="default" if message.urgent else None)),
                ),
                webpush=m.WebpushConfig(
                    headers={"Urgency": "high" if message.urgent else "normal", "TTL": str(seconds)}
                ),
                **target,
            )

    def _result(self, response: Any) -> PushResult:
        if response.success:
            return PushResult(Outcome.SENT, message_id=response.message_id or "")
        error = response.exception
        m = self._messaging
        # FCM's own code (UNREGISTERED, THIRD_PARTY_AUTH_ERROR …) says more than the
        # canonical one the client reports (NOT_FOUND, UNAUTHENTICATED …).
        code = _fcm_error_code(error) or str(getattr(error, "code", "") or type(error).__name__)
        text = str(error)[:500]
        if isinstance(error, m.UnregisteredError | m.SenderIdMismatchError):
            return PushResult(Outcome.DEVICE_GONE, error_code=code, error_message=text)
        if _canonical_code(error) == "INVALID_ARGUMENT" and _names_the_identifier(error):
            return PushResult(Outcome.DEVICE_GONE, error_code=code, error_message=text)
        if isinstance(error, m.QuotaExceededError) or _canonical_code(error) in RETRYABLE_CODES:
            return PushResult(Outcome.RETRY, error_code=code, error_message=text)
        if _canonical_code(error) == "UNAUTHENTICATED" and not _fcm_error_code(error):
            # Our access token was refused (revoked, or the clocks disagree): the next
            # batch fetches a new one.
            self._credential.token = None
            return PushResult(Outcome.RETRY, error_code=code, error_message=text)
        return PushResult(Outcome.FAILED, error_code=code, error_message=text)


def _canonical_code(error: Any) -> str:
    return str(getattr(error, "code", "") or "")


def _fcm_error_code(error: Any) -> str:
    """The ``errorCode`` of the FcmError detail of an error answer, if there is one."""
    response = getattr(error, "http_response", None)
    if response is None:
        return ""
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return ""
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE:
            return str(detail.get("errorCode") or "")
    return ""


FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# firebase-admin error codes (FirebaseError.code) worth trying again later.
RETRYABLE_CODES = frozenset(
    {"UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "UNKNOWN"}
)


def _names_the_identifier(error: Any) -> bool:
    """FCM answers INVALID_ARGUMENT both for a malformed message and for a registration
    token that is not one; only the second means the device is gone."""
    text = str(error).lower()
    return "registration token" in text or "installation id" in text


_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], PushTransport] | None = None


def _config() -> tuple[Any, ...]:
    return (
        settings.PUSH_TRANSPORT,
        settings.FCM_CREDENTIALS_FILE,
        settings.FCM_CREDENTIALS_JSON,
        settings.FCM_PROJECT_ID,
        settings.FCM_ENDPOINT,
    )


def get_transport() -> PushTransport:
    """The transport the settings name, built once per process (and again if they change,
    as tests do)."""
    global _cached
    config = _config()
    with _lock:
        if _cached is None or _cached[0] != config:
            _cached = (config, _build_transport(*config))
        return _cached[1]


def _build_transport(
    kind: str, credentials_file: str, credentials_json: str, project_id: str, endpoint: str
) -> PushTransport:
    if kind == "local":
        return LocalTransport()
    if kind != "fcm":
        raise ImproperlyConfigured(f"PUSH_TRANSPORT must be 'local' or 'fcm', not {kind!r}")
    from firebase_admin import credentials

    if credentials_json:
        credential = credentials.Certificate(json.loads(credentials_json))
    elif credentials_file:
        credential = credentials.Certificate(credentials_file)
    else:
        raise ImproperlyConfigured(
            "PUSH_TRANSPORT=fcm needs FCM_CREDENTIALS_FILE or FCM_CREDENTIALS_JSON "
            "(a service-account key)"
        )
    return FirebaseTransport(credential, project_id or None, endpoint or None)
