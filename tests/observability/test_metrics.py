"""/metrics: who may scrape it, and what the request metrics are labelled with."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from prometheus_client import REGISTRY

from sanjeevani.observability import health
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token-for-tests"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_loopback_may_scrape_when_no_token_is_set(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get(reverse("metrics"), REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert "sanjeevani_http_requests_total" in text
    assert "sanjeevani_queue_collector_up 1.0" in text


@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "10.1.2.3"},
        {"REMOTE_ADDR": "::1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_REAL_IP": "203.0.113.9"},
    ],
    ids=["another-address", "forwarded-by-a-proxy", "real-ip-header"],
)
def test_anyone_else_gets_an_empty_404_without_a_token(client, settings, meta):
    settings.METRICS_TOKEN = ""
    response = client.get(reverse("metrics"), **meta)
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize(
    "authorization",
    ["", f"Token {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x"],
    ids=["none", "other-scheme", "wrong", "longer"],
)
def test_with_a_token_set_only_the_token_opens_it(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get(reverse("metrics"), REMOTE_ADDR="127.0.0.1", **extra)
    assert response.status_code == 404
    assert response.content == b""


def test_the_token_opens_it_from_anywhere(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get(
        reverse("metrics"), REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert response.status_code == 200


def test_requests_are_labelled_by_route_name_never_by_path(client, settings):
    settings.METRICS_TOKEN = ""
    patient_id = uuid.uuid4()
    url = reverse("patients:edit", kwargs={"patient_id": patient_id})
    labels = {"method": "GET", "route": "patients:edit", "status": "3xx"}
    before = _value("sanjeevani_http_requests_total", **labels)
    assert client.get(url).status_code == 302  # signed out: sent to sign in
    assert _value("sanjeevani_http_requests_total", **labels) == before + 1
    timed = {"method": "GET", "route": "patients:edit"}
    assert _value("sanjeevani_http_request_duration_seconds_count", **timed) >= 1

    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    before_unmatched = _value("sanjeevani_http_requests_total", **unmatched)
    assert client.get(f"/no-such-page/{patient_id}/").status_code == 404
    assert _value("sanjeevani_http_requests_total", **unmatched) == before_unmatched + 1

    odd = {"method": "other", "route": "healthz", "status": "4xx"}
    before_odd = _value("sanjeevani_http_requests_total", **odd)
    client.generic("BREW", reverse("healthz"))
    assert _value("sanjeevani_http_requests_total", **odd) == before_odd + 1

    text = client.get(reverse("metrics"), REMOTE_ADDR="127.0.0.1").content.decode()
    assert str(patient_id) not in text
    assert "no-such-page" not in text


def test_server_errors_are_counted(client, monkeypatch):
    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "check_database", down)
    before = _value("sanjeevani_http_server_errors_total", method="GET", route="readyz")
    assert client.get(reverse("readyz")).status_code == 503
    assert _value("sanjeevani_http_server_errors_total", method="GET", route="readyz") == before + 1


def test_each_route_counts_the_cpu_its_requests_took(client, monkeypatch):
    """The serving thread's CPU is added per route, so a route's cost per request can be
    read off a node under load (bench/peak_day.py's "CPU by route")."""
    labels = {"method": "GET", "route": "healthz"}
    before = _value("sanjeevani_http_request_cpu_seconds_total", **labels)
    spent = iter([10.0, 10.25])
    monkeypatch.setattr("sanjeevani.observability.middleware.time.thread_time", lambda: next(spent))
    assert client.get(reverse("healthz")).status_code == 200
    assert _value("sanjeevani_http_request_cpu_seconds_total", **labels) == pytest.approx(
        before + 0.25
    )


def test_each_route_counts_the_database_statements_its_requests_sent(client):
    """A route's statements per request do not move with the machine's load, as its CPU
    does: bench/peak_day.py prints both."""
    patient = PatientFactory()
    client.force_login(patient.account)
    labels = {"method": "GET", "route": "opd-api:my-tickets"}
    before = _value("sanjeevani_http_request_queries_total", **labels)
    with CaptureQueriesContext(connection) as sent:
        assert client.get(reverse("opd-api:my-tickets")).status_code == 200
    assert len(sent) >= 2  # the session, the account, the family's tokens
    assert _value("sanjeevani_http_request_queries_total", **labels) == before + len(sent)
