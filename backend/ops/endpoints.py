"""``/healthz``, ``/readyz`` and ``/metrics``, answered before any other middleware.

Probes and Prometheus reach a pod by its address over plain HTTP: their ``Host`` is an IP
address that is not in ``ALLOWED_HOSTS``, and there is no ``X-Forwarded-Proto: https``.
Through the usual stack they would get a 400 (DisallowedHost) or a redirect to HTTPS; here
they get their answer. No session, no CSRF (GET and HEAD only), no authentication
(``/metrics`` may ask for a token, see ``backend.ops.metrics``). The load balancer should not
route these paths from the internet.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseNotAllowed
from django.http.response import HttpResponseBase

from backend.ops import health, metrics

ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponseBase]] = {
    "/healthz": health.healthz,
    "/readyz": health.readyz,
    "/metrics": metrics.metrics_view,
}


class OperationsEndpointsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        endpoint = ENDPOINTS.get(request.path_info.rstrip("/"))
        if endpoint is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = endpoint(request)
        response["Cache-Control"] = "no-store"
        return response
