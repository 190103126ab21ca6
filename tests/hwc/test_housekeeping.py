"""The housekeeping loop moves cases that waited past their state's time to the overflow."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sanjeevani.hwc.models import Case
from sanjeevani.queueing.models import Queue

from .factories import send_case

pytestmark = pytest.mark.django_db


def test_housekeeping_overflows_cases_that_waited_past_the_states_time(network):
    fresh = send_case(network)
    out = io.StringIO()
    call_command("queue_housekeeping", stdout=out)
    fresh.refresh_from_db()
    assert fresh.route == Case.Route.OWN_HUB, "15 minutes have not passed"
    network.state.hub_overflow_minutes = 0
    network.state.save()
    call_command("queue_housekeeping", stdout=out)
    fresh.refresh_from_db()
    assert fresh.route == Case.Route.OVERFLOW
    assert fresh.ticket.queue.kind == Queue.Kind.STATE_OVERFLOW
    assert "1 case(s) overflowed" in out.getvalue()
