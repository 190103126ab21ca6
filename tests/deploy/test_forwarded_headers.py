"""Behind the reverse proxy (issue 15, item 2): WebSockets take the client's address by the
same rule as HTTP requests, and X-Forwarded-Proto counts only from a trusted proxy.

The HTTP rule itself is tested in tests/accounts/test_client_address.py.
"""

from __future__ import annotations

import httpx
import pytest

from sanjeevani.audit.services import client_ip, scope_client_ip
from sanjeevani.config.proxy_headers import ForwardedHeadersFromTrustedProxies

PROXIES = ["10.0.0.0/8", "::1"]


def scope(peer: str | None, *headers: tuple[bytes, bytes]) -> dict:
    return {
        "type": "websocket",
        "client": (peer, 51000) if peer else None,
        "headers": [(b"host", b"tele.example.org"), *headers],
    }


def test_a_websocket_behind_a_trusted_proxy_is_the_forwarded_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    chain = (b"x-forwarded-for", b"6.6.6.6, 203.0.113.5, 10.1.1.1")
    assert scope_client_ip(scope("10.0.0.2", chain)) == "203.0.113.5"
    assert scope_client_ip(scope("::1", (b"x-forwarded-for", b"203.0.113.7"))) == "203.0.113.7"
    # Repeated headers read as one list, as Django joins them for HTTP.
    repeated = scope(
        "10.0.0.2", (b"x-forwarded-for", b"6.6.6.6"), (b"X-Forwarded-For", b"203.0.113.8")
    )
    assert scope_client_ip(repeated) == "203.0.113.8"


def test_a_websocket_header_from_anyone_else_is_ignored(settings):
    settings.TRUSTED_PROXIES = PROXIES
    forged = (b"x-forwarded-for", b"203.0.113.5")
    assert scope_client_ip(scope("198.51.100.1", forged)) == "198.51.100.1"
    settings.TRUSTED_PROXIES = []
    assert scope_client_ip(scope("10.0.0.2", forged)) == "10.0.0.2"
    assert scope_client_ip(scope(None, forged)) is None


def test_http_and_websocket_agree(settings, rf):
    settings.TRUSTED_PROXIES = PROXIES
    for peer, forwarded in [
        ("10.0.0.2", "203.0.113.5"),
        ("10.0.0.2", "203.0.113.5, bogus"),
        ("198.51.100.1", "203.0.113.5"),
        ("::ffff:10.0.0.3", "10.0.0.4, 203.0.113.9, 10.0.0.5"),
    ]:
        request = rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
        socket = scope(peer, (b"x-forwarded-for", forwarded.encode()))
        assert client_ip(request) == scope_client_ip(socket), (peer, forwarded)


def test_secure_proxy_ssl_header_only_with_trusted_proxies(tmp_path):
    """Read once at start-up, so each case is a fresh interpreter."""
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    results = {}
    for proxies in ["", "127.0.0.1,::1"]:
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings",
            "SANJEEVANI_VAR": str(tmp_path),
            "TRUSTED_PROXIES": proxies,
        }
        done = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        results[proxies] = done.stdout.strip()
    assert results == {"": "None", "127.0.0.1,::1": "('HTTP_X_FORWARDED_PROTO', 'https')"}


async def _forwarded_seen(peer: str, headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    seen: list[list[tuple[bytes, bytes]]] = []

    async def inner(scope, receive, send):
        seen.append(scope["headers"])

    wrapped = ForwardedHeadersFromTrustedProxies(inner)
    await wrapped({"type": "http", "client": (peer, 1), "headers": headers}, None, None)
    return [name for name, _value in seen[0]]


async def test_forwarded_headers_reach_the_app_only_from_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = PROXIES
    headers = [
        (b"host", b"tele.example.org"),
        (b"X-Forwarded-Proto", b"https"),
        (b"x-forwarded-for", b"203.0.113.5"),
    ]
    assert await _forwarded_seen("10.0.0.2", headers) == [
        b"host",
        b"X-Forwarded-Proto",
        b"x-forwarded-for",
    ]
    assert await _forwarded_seen("198.51.100.1", headers) == [b"host"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("peer", "scheme"), [("127.0.0.1", "wss"), ("198.51.100.1", "ws")], ids=["proxy", "direct"]
)
async def test_https_is_believed_only_from_the_proxy(settings, peer, scheme):
    """The page's CSP names wss:// for a secure request: the whole ASGI application, with
    X-Forwarded-Proto: https from the trusted proxy and from a direct caller."""
    from sanjeevani.config.asgi import application

    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["tele.example.org"]
    transport = httpx.ASGITransport(app=application, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tele.example.org") as http:
        response = await http.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert f"{scheme}://tele.example.org" in csp, csp
