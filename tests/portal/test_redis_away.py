"""Redis restarting (issue 15's drill): with the shared cache unreachable, the pages that
cache serve from the database instead of failing. The waiting room's status (what a
patient's page polls while its socket is down), the public dashboard and a rate-limited
sign-in all answer; reads miss, writes are dropped, counters let the request through."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from sanjeevani.queueing import services as queueing
from tests.e2e.live import free_port
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import API, api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_away(settings):
    """The production cache, pointed at a port nothing listens on."""
    settings.CACHES = {
        "default": {
            "BACKEND": "sanjeevani.config.redis_cache.SharedClientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_the_cache_misses_and_drops_writes_while_redis_is_away(redis_away):
    cache.set("figure", 42)
    assert cache.get("figure") is None
    assert cache.get("figure", "default") == "default"
    assert cache.add("lock", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("figure") is False
    with pytest.raises(ValueError, match="Redis is unavailable"):
        cache.incr("counter")


def test_pages_that_cache_keep_answering_while_redis_is_away(redis_away):
    opd = OnlineOPDFactory()
    patient = PatientFactory()
    ticket = queueing.join_queue(patient.account, patient, opd)

    status = api_for(patient.account).get(f"{API}/tickets/{ticket.pk}/")
    assert status.status_code == 200, status.content
    assert (status.json()["status"], status.json()["position"]) == ("waiting", 1)

    dashboard = APIClient().get("/dashboard/")
    assert dashboard.status_code == 200
    assert b"<svg" in dashboard.content

    sign_in = APIClient().post(
        "/api/v1/accounts/otp/request", {"mobile": "98123 45678"}, format="json"
    )
    assert sign_in.status_code == 202, sign_in.content
