"""Short-lived download links for the files the API produces (ledger exports, certificates).

A GraphQL field checks the caller's permission and answers with a link; ``GET
/downloads/<token>`` opens it. The token is signed with the secret key
(``django.core.signing``) and carries the user, the kind of file and its parameters — never
the file — so a link works in any browser (a street office's desktop, the app's web view)
without the access token, expires after ``DOWNLOAD_LINK_SECONDS`` and is checked again when
it is opened: a user who lost the permission or was deactivated meanwhile gets a 403.

Each kind of file has one renderer, registered by its domain app
(``@renderer("ledger.xlsx")``); it re-checks permission (raising ``PermissionDenied``) and
returns the bytes.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

_SALT = "linli.downloads"


@dataclass(frozen=True)
class DownloadFile:
    content: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: dt.datetime
    filename: str


Renderer = Callable[[Any, dict[str, Any]], DownloadFile]
_renderers: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the function that produces the files of ``kind``."""

    def register(function: Renderer) -> Renderer:
        assert kind not in _renderers, f"two renderers for {kind}"
        _renderers[kind] = function
        return function

    return register


def link(
    request: HttpRequest | None, user: Any, kind: str, params: dict[str, Any], filename: str
) -> DownloadLink:
    """A link for ``user`` to the file ``kind`` with ``params`` (JSON-serializable); absolute
    when the request is known."""
    assert kind in _renderers, f"no renderer for {kind}"
    token = signing.dumps({"u": user.pk, "k": kind, "p": params}, salt=_SALT, compress=True)
    path = reverse("download", kwargs={"token": token})
    url = request.build_absolute_uri(path) if request is not None else path
    expires_at = timezone.now() + dt.timedelta(seconds=settings.DOWNLOAD_LINK_SECONDS)
    return DownloadLink(url=url, expires_at=expires_at, filename=filename)


def download(request: HttpRequest, token: str) -> HttpResponse:
    """GET /downloads/<token>: 404 for a bad or expired link (it says nothing more), 403
    when its user may no longer have the file."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.DOWNLOAD_LINK_SECONDS)
    except signing.BadSignature:
        raise Http404 from None
    render = _renderers.get(payload.get("k"))
    user = get_user_model().objects.filter(pk=payload.get("u"), is_active=True).first()
    if render is None or user is None:
        raise Http404
    try:
        produced = render(user, payload.get("p") or {})
    except PermissionDenied:
        return HttpResponse(status=403)
    response = HttpResponse(produced.content, content_type=produced.content_type)
    # RFC 6266 with an RFC 5987 UTF-8 name: Chinese file names survive every browser.
    ascii_name = produced.filename.encode("ascii", "replace").decode().replace("?", "_")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(produced.filename)}"
    )
    response["Cache-Control"] = "private, no-store"
    return response
