"""ASGI entry point: HTTP through Django; WebSocket routes join here with subscriptions."""

import gc
import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# API processes serve each request in a new thread: pool database connections (settings).
os.environ.setdefault("LINLI_DATABASE_POOL", "1")

django_asgi_app = get_asgi_application()

# Import the schema now rather than in the first request, then move everything loaded at
# start-up out of the garbage collector's sight: full collections then only walk what requests
# allocate, which removes most of the long pauses from the latency tail.
import schema.api  # noqa: E402, F401

gc.freeze()

application = ProtocolTypeRouter({"http": django_asgi_app})
