"""ASGI entry point: HTTP through Django, GraphQL over WebSocket at /graphql/.

WebSockets need no origin check: they authenticate with an access token in
``connection_init``, never with cookies, so another site's page gains nothing by opening
one in a visitor's browser."""

import gc
import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# API processes serve each request in a new thread: pool database connections (settings).
os.environ.setdefault("LINLI_DATABASE_POOL", "1")

django_asgi_app = get_asgi_application()

# Import the schema now rather than in the first request, then move everything loaded at
# start-up out of the garbage collector's sight: full collections then only walk what requests
# allocate, which removes most of the long pauses from the latency tail.
import schema.api  # noqa: E402, F401
from schema.realtime.consumer import GraphQLWebSocketConsumer  # noqa: E402

gc.freeze()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("graphql/", GraphQLWebSocketConsumer.as_asgi())]),
    }
)
