"""The probes: liveness touches nothing, readiness names what is down, neither is cached."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sanjeevani.observability import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_ready_when_every_check_answers(client, settings):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    # Redis is asked only where it is configured (the PostgreSQL + Redis run).
    assert ("redis" in body["checks"]) == bool(settings.REDIS_URL)
    assert response["Cache-Control"] == "no-store"


def test_readyz_names_the_database_when_it_does_not_answer(client, monkeypatch):
    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "check_database", down)
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["database"]
    assert "refused" not in response.content.decode()  # the reason goes to the log only
    assert response["Cache-Control"] == "no-store"


def test_probes_take_only_get_and_head(client):
    assert client.post(reverse("healthz")).status_code == 405
    assert client.head(reverse("healthz")).status_code == 200


def test_probes_answer_a_node_addressed_directly_over_http(client, settings):
    """A probe or scraper talks to one node by its private address over plain HTTP: no
    400 for the host, no redirect to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = ""
    for name in ("healthz", "readyz", "metrics"):
        response = client.get(reverse(name), HTTP_HOST="10.0.0.5:8000")
        assert response.status_code == 200, (name, response.status_code)
    # Every other address still gets the host check.
    assert client.get("/", HTTP_HOST="10.0.0.5:8000").status_code == 400
