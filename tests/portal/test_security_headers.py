"""Security headers through HTTP: every HTML page carries the strict Content-Security-Policy
and a Permissions-Policy (camera and microphone only where the video room is), pages hold
no inline code the policy would block, documents are served in a sandbox, and the violation
report endpoint logs without ever failing.

The pages are found by walking the access table (``tests/access/table.py``), so a new page
is checked here as soon as it is declared there.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from sanjeevani.config.security_headers import MEDIA_ROUTES, REPORTS_PER_MINUTE
from sanjeevani.patients.documents import upload_document
from sanjeevani.prescriptions import signing
from tests.access.routes import named_routes
from tests.access.table import RULES
from tests.access.world import World, build_world
from tests.opd.pages_support import PNG_BYTES

#: Directives every HTML page must carry, with their exact sources.
REQUIRED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "media-src": {"'self'", "blob:", "mediastream:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
#: Inline code a strict policy blocks: a <script> without src, on* handler attributes,
#: style attributes, and <style> blocks without a nonce.
#: (``json_script`` data blocks are not code: the browser never runs them.)
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style(?P<attrs>[^>]*)>", re.IGNORECASE)
#: The person each kind of route is opened as.
PREFERRED_ROLE = ("patient", "doctor", "national_admin", "anonymous")


def policy(response) -> dict[str, set[str]]:
    header = response.get("Content-Security-Policy", "")
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: set(p[1:]) for p in parts}


@pytest.fixture
def world(db, settings, tmp_path, tmp_path_factory) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNING_KEY_FILE = tmp_path_factory.mktemp("keys") / "rx.pem"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    signing._load_private_key.cache_clear()
    yield build_world()
    signing._load_private_key.cache_clear()


def client_as(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if world.users[role] is not None:
        client.force_login(world.users[role])
    return client


def html_pages(world: World):
    """(route name, url, response) of every page route that answers HTML to its own person."""
    for rule in RULES:
        if rule.method != "get" or rule.is_api:
            continue
        role = next(r for r in PREFERRED_ROLE if r in rule.ok_roles() | {"anonymous"})
        url = reverse(rule.name, kwargs=rule.args(world) if rule.args else None)
        response = client_as(world, role).get(url)
        if response.get("Content-Type", "").startswith("text/html"):
            yield rule.name, url, response


def admin_pages(world: World):
    client = client_as(world, "national_admin")
    for name, pattern in sorted(named_routes().items()):
        if name.startswith("admin:") and "<" not in pattern and "(?P" not in pattern:
            url = reverse(name)
            response = client.get(url)
            if response.get("Content-Type", "").startswith("text/html"):
                yield name, url, response


def inline_code(html: str, nonce: str | None) -> list[str]:
    found = [m.group(0) for m in INLINE_SCRIPT.finditer(html)]
    found += [m.group(0)[:80] for m in HANDLER_ATTRIBUTE.finditer(html)]
    found += [m.group(0)[:80] for m in STYLE_ATTRIBUTE.finditer(html)]
    for match in STYLE_BLOCK.finditer(html):
        if not nonce or f'nonce="{nonce}"' not in match.group("attrs"):
            found.append(match.group(0))
    return found


def test_every_html_page_carries_the_strict_policy_and_no_inline_code(world):
    problems, seen = [], set()
    for name, url, response in [*html_pages(world), *admin_pages(world)]:
        seen.add(name)
        csp = policy(response)
        for directive, sources in REQUIRED.items():
            if csp.get(directive) != sources:
                problems.append(f"{url} ({name}): {directive} is {csp.get(directive)}")
        style = csp.get("style-src", set())
        if "'unsafe-inline'" in style or "'unsafe-inline'" in csp.get("script-src", set()):
            problems.append(f"{url} ({name}): 'unsafe-inline' in {csp}")
        if "report-uri" not in csp:
            problems.append(f"{url} ({name}): no report-uri")
        nonces = [s[len("'nonce-") : -1] for s in style if s.startswith("'nonce-")]
        leftovers = inline_code(response.content.decode(), nonces[0] if nonces else None)
        if leftovers:
            problems.append(f"{url} ({name}): inline code {leftovers}")
        if "Permissions-Policy" not in response:
            problems.append(f"{url} ({name}): no Permissions-Policy")
    assert not problems, "\n" + "\n".join(problems)
    # the walk itself: the pages the brief names were reached with HTML
    expected = {
        "portal:home",
        "accounts:otp_sign_in",
        "accounts:staff_login",
        "opd:opd_list",
        "opd:waiting_room",
        "opd:doctor_console",
        "opd:doctor_consultation",
        "opd:consultation",
        "opd:history",
        "realtime:room",
        "realtime:device-check",
        "patients:family",
        "patients:add",
        "patients:edit",
        "prescriptions:detail",
        "prescriptions:verify",
        "admin:index",
    }
    assert expected - seen == set(), f"not reached as HTML: {expected - seen}"


def test_camera_and_microphone_only_on_the_video_pages(world):
    """A page that loads the room or device-check script has the camera; no other page has."""
    problems = []
    for name, url, response in html_pages(world):
        html = response.content.decode()
        needs_media = "realtime/room.js" in html or "realtime/device_check.js" in html
        header = response["Permissions-Policy"]
        media = "camera=(self)" in header and "microphone=(self)" in header
        denied = "camera=()" in header and "microphone=()" in header
        if needs_media and not media:
            problems.append(f"{url} ({name}) opens the camera but has {header!r}")
        if not needs_media and not denied:
            problems.append(f"{url} ({name}) allows media without using it: {header!r}")
        if name in MEDIA_ROUTES and not media:
            problems.append(f"{url} ({name}) is a video page without the camera")
        for feature in ("geolocation=()", "payment=()", "usb=()", "display-capture=()"):
            if feature not in header:
                problems.append(f"{url} ({name}): {feature} missing")
    assert not problems, "\n" + "\n".join(problems)


def test_json_static_and_not_found_answers_carry_the_headers_too(world):
    client = client_as(world, "patient")
    for url in ("/api/v1/opd/", "/static/css/site.css", "/no-such-page/", "/api/v1/nothing/"):
        response = client.get(url)
        assert policy(response)["default-src"] == {"'self'"}, url
        assert policy(response)["frame-ancestors"] == {"'none'"}, url
        assert "camera=()" in response["Permissions-Policy"], url


def test_websocket_origin_is_named_in_connect_src(client):
    plain = client.get("/")
    assert policy(plain)["connect-src"] == {"'self'", "ws://testserver"}
    secure = client.get("/", secure=True)
    assert policy(secure)["connect-src"] == {"'self'", "wss://testserver"}


def test_only_the_api_reference_allows_injected_styles(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "'unsafe-inline'" in policy(docs)["style-src"]
    assert policy(docs)["script-src"] == {"'self'"}
    assert not INLINE_SCRIPT.search(docs.content.decode())
    assert "'unsafe-inline'" not in policy(client.get("/"))["style-src"]


# --- documents -------------------------------------------------------------------------------


def assert_sandboxed(response) -> None:
    assert response.status_code == 200
    csp = policy(response)
    assert "sandbox" in csp and csp["sandbox"] == set(), response["Content-Security-Policy"]
    assert csp["default-src"] == {"'none'"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_documents_are_sandboxed_and_pdfs_downloaded(world):
    """The world's document is a PDF: a download in a sandbox, through the page and the API."""
    for role in ("patient", "doctor"):
        client = client_as(world, role)
        for url in (
            reverse("opd:document", args=[world.document.pk]),
            f"/api/v1/patients/documents/{world.document.pk}/file/",
        ):
            response = client.get(url)
            assert_sandboxed(response)
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"].startswith("attachment;"), url
            assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_images_are_shown_inline_but_still_sandboxed(world):
    photo = upload_document(
        world.users["patient"],
        world.patient,
        SimpleUploadedFile("rash.png", PNG_BYTES, content_type="image/png"),
        "Rash",
        "report",
    )
    response = client_as(world, "patient").get(reverse("opd:document", args=[photo.pk]))
    assert_sandboxed(response)
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert "allow-scripts" not in response["Content-Security-Policy"]


# --- violation reports -------------------------------------------------------------------------


REPORT = {
    "csp-report": {
        "document-uri": "http://testserver/opd/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "line-number": 12,
    }
}


def test_a_violation_report_is_logged(client, caplog):
    with caplog.at_level(logging.WARNING, logger="sanjeevani.csp"):
        response = client.post(
            "/csp-report/", data=json.dumps(REPORT), content_type="application/csp-report"
        )
    assert response.status_code == 204
    assert "script-src-elem" in caplog.text and "/opd/" in caplog.text


def test_reporting_api_format_is_understood(client, caplog):
    body = [
        {
            "type": "csp-violation",
            "body": {"documentURL": "http://testserver/x", "effectiveDirective": "style-src-attr"},
        }
    ]
    with caplog.at_level(logging.WARNING, logger="sanjeevani.csp"):
        response = client.post("/csp-report/", data=body, content_type="application/reports+json")
    assert response.status_code == 204
    assert "style-src-attr" in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/csp-report"),
        (b"\xff\xfe\x00", "application/csp-report"),
        (b'[1, 2, {"csp-report": 7}]', "application/json"),
        (b'{"body": [1]}', "application/reports+json"),
        (b"", "text/plain"),
    ],
)
def test_malformed_reports_never_fail(client, body, content_type):
    response = client.post("/csp-report/", data=body, content_type=content_type)
    assert response.status_code == 204


def test_oversized_reports_and_gets_are_refused(client):
    big = b"{" + b" " * (17 * 1024) + b"}"
    assert client.post("/csp-report/", data=big, content_type="application/json").status_code == 413
    assert client.get("/csp-report/").status_code == 405


def test_a_flood_of_reports_is_limited_per_address(client, caplog):
    with caplog.at_level(logging.WARNING, logger="sanjeevani.csp"):
        answers = [
            client.post(
                "/csp-report/", data=json.dumps(REPORT), content_type="application/csp-report"
            )
            for _ in range(REPORTS_PER_MINUTE + 5)
        ]
    codes = [a.status_code for a in answers]
    assert codes[:REPORTS_PER_MINUTE] == [204] * REPORTS_PER_MINUTE
    assert codes[REPORTS_PER_MINUTE:] == [429] * 5
    assert answers[-1]["Retry-After"] == "60"
    assert caplog.text.count("Content-Security-Policy violation") == REPORTS_PER_MINUTE
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert (
        other.post(
            "/csp-report/", data=json.dumps(REPORT), content_type="application/csp-report"
        ).status_code
        == 204
    )
