"""ASGI entry point: HTTP through Django, websockets through Channels (live sessions)."""

import os
import sys

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

# uvicorn's supervisor restarts a worker that dies, except one that exits with this code.
STARTUP_FAILURE = 3

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coinsite.settings")
try:
    django_asgi_app = get_asgi_application()
except ImproperlyConfigured as refused:
    print(f"ImproperlyConfigured: {refused}", file=sys.stderr, flush=True)
    raise SystemExit(STARTUP_FAILURE) from refused

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from gifts.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
