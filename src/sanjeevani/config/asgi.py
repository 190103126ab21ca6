"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
from collections.abc import Sequence

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sanjeevani.accounts.websocket_auth import TokenAuthMiddleware  # noqa: E402
from sanjeevani.config.websocket_routes import websocket_urlpatterns  # noqa: E402


def build_application(extra_websocket_routes: Sequence = ()) -> ProtocolTypeRouter:
    """The project's application; benchmarks add their own WebSocket routes behind the
    same origin check and authentication (bench/ws_feed.py), production adds none."""
    routes = [*websocket_urlpatterns, *extra_websocket_routes]
    return ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(routes)))
            ),
        }
    )


application = build_application()
