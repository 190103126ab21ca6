"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os
from collections.abc import Sequence

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")

from sanjeevani.config.asgi_handler import get_asgi_application  # noqa: E402

# The middleware chain and the views in one thread per request (config/asgi_handler.py).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from sanjeevani.accounts.websocket_auth import TokenAuthMiddleware  # noqa: E402
from sanjeevani.config.overload import with_request_limit  # noqa: E402
from sanjeevani.config.proxy_headers import ForwardedHeadersFromTrustedProxies  # noqa: E402
from sanjeevani.config.websocket_routes import websocket_urlpatterns  # noqa: E402


def build_application(
    extra_websocket_routes: Sequence = (),
) -> ForwardedHeadersFromTrustedProxies:
    """The project's application; benchmarks add their own WebSocket routes behind the
    same origin check and authentication (bench/ws_feed.py), production adds none.
    Forwarded headers reach it only from trusted proxies (config/proxy_headers.py); HTTP
    requests past the worker's bound are answered 503 at once (config/overload.py)."""
    routes = [*websocket_urlpatterns, *extra_websocket_routes]
    return ForwardedHeadersFromTrustedProxies(
        ProtocolTypeRouter(
            {
                "http": with_request_limit(django_asgi_app),
                "websocket": AllowedHostsOriginValidator(
                    AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(routes)))
                ),
            }
        )
    )


application = build_application()
