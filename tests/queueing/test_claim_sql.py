"""One claim rule: the installed PostgreSQL function is the latest ``.sql`` version, and the
function and the ORM path (SQLite's) give the same outcomes for the same scenarios."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.utils import timezone

from sanjeevani.queueing import claim as claiming
from sanjeevani.queueing import services
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from sanjeevani.queueing.sql import latest_version, load_sql
from tests.factories import OnlineOPDFactory
from tests.queueing.factories import TicketFactory, member_doctor

pytestmark = pytest.mark.django_db

Presence = DoctorPresence.Status
Priority = Ticket.Priority


def _normalised(sql: str) -> str:
    return " ".join(sql.split())


def _body(definition: str) -> str:
    """What stands between the dollar quotes of a function definition."""
    match = re.search(r"\$(\w*)\$(.*)\$\1\$", definition, re.DOTALL)
    assert match, definition
    return match.group(2)


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the claim function lives there")


def test_each_version_file_names_its_signature_and_defines_that_function():
    for version in range(1, latest_version("claim_next_ticket") + 1):
        sql = load_sql("claim_next_ticket", version)
        name, _, arguments = sql.signature.partition("(")
        assert name == "queueing_claim_next_ticket"
        assert f"CREATE OR REPLACE FUNCTION {name}(" in sql.text
        assert sql.drop == f"DROP FUNCTION IF EXISTS {name}({arguments}"


def test_installed_claim_function_is_the_latest_version():
    _needs_postgres()
    latest = load_sql("claim_next_ticket", latest_version("claim_next_ticket"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef(p.oid), p.oid = to_regprocedure(%s) "
            "FROM pg_proc p WHERE p.proname = 'queueing_claim_next_ticket'",
            [latest.signature],
        )
        installed = cursor.fetchall()
    assert len(installed) == 1, "one claim function, no overload left behind"
    definition, same_signature = installed[0]
    assert same_signature, f"installed with another signature than {latest.signature}"
    assert _normalised(_body(definition)) == _normalised(_body(latest.text))


# --- parity: the same scenarios through both paths ------------------------------------


def _claim_with(path: str):
    def claim(doctor, *queues):
        now = timezone.now()
        ids = [q.pk for q in queues] or None
        with transaction.atomic():
            if path == "function":
                result = claiming.claim_in_function(doctor, ids, now, doctor.user, {})
            else:
                result = claiming.claim_with_orm(doctor, ids, now)
        return None if result is None else result.ticket.token_number

    return claim


@pytest.fixture(params=["orm", "function"], name="claim")
def claim_fixture(request):
    if request.param == "function":
        _needs_postgres()
    return _claim_with(request.param)


@pytest.fixture(name="line")
def line_fixture():
    """An OPD and a way to queue tokens at it, each a second after the one before."""
    opd = OnlineOPDFactory()
    start = timezone.now() - dt.timedelta(hours=1)
    made = []

    def add(token: int, priority: int = Priority.NORMAL, **kwargs) -> Ticket:
        made.append(token)
        return TicketFactory(
            opd=opd,
            token_number=token,
            priority=priority,
            queued_at=start + dt.timedelta(seconds=len(made)),
            **kwargs,
        )

    return opd, add


def _online(doctor, opd, status=Presence.AVAILABLE) -> None:
    DoctorPresence.objects.update_or_create(
        doctor=doctor,
        defaults={"opd": opd, "queue": Queue.objects.for_opd(opd), "status": status},
    )


def _status(doctor) -> str:
    return DoctorPresence.objects.get(doctor=doctor).status


def test_priority_then_arrival(claim, line):
    opd, add = line
    add(1)
    add(2, Priority.FOLLOW_UP)
    add(3, Priority.HEAD)
    add(4, Priority.FOLLOW_UP)
    doctor = member_doctor(opd)
    order = []
    for _ in range(5):
        _online(doctor, opd)
        order.append(claim(doctor))
    assert order == [3, 2, 4, 1, None]


def test_follow_up_waits_for_its_doctor_while_online(claim, line):
    opd, add = line
    mine, other = member_doctor(opd), member_doctor(opd)
    add(1, Priority.FOLLOW_UP, preferred_doctor=mine)
    add(2)
    _online(mine, opd, Presence.ON_BREAK)
    _online(other, opd)
    assert claim(other) == 2
    _online(other, opd)
    assert claim(other) is None
    assert claim(mine) == 1


def test_follow_up_goes_to_anyone_when_its_doctor_is_offline(claim, line):
    opd, add = line
    mine, other = member_doctor(opd), member_doctor(opd)
    add(1)
    add(2, Priority.FOLLOW_UP, preferred_doctor=mine)
    _online(mine, opd, Presence.OFFLINE)
    _online(other, opd)
    assert claim(other) == 2


def test_a_claimed_ticket_is_skipped(claim, line):
    opd, add = line
    taken = add(1)
    add(2)
    Ticket.objects.filter(pk=taken.pk).update(status=Ticket.Status.CALLED)
    doctor = member_doctor(opd)
    _online(doctor, opd)
    assert claim(doctor) == 2


@pytest.mark.parametrize(
    ("status", "claims"),
    [
        (Presence.AVAILABLE, True),
        (Presence.ON_BREAK, True),
        (Presence.BUSY, False),
        (Presence.OFFLINE, False),
    ],
)
def test_presence_decides_who_may_claim(claim, line, status, claims):
    opd, add = line
    add(1)
    doctor = member_doctor(opd)
    _online(doctor, opd, status)
    assert claim(doctor) == (1 if claims else None)
    assert _status(doctor) == (Presence.BUSY if claims else status)


def test_no_presence_and_another_opd_claim_nothing(claim, line):
    opd, add = line
    add(1)
    stranger = member_doctor(opd)
    assert claim(stranger) is None
    elsewhere = OnlineOPDFactory(state=opd.state)
    _online(stranger, elsewhere)
    assert claim(stranger, Queue.objects.for_opd(opd)) is None
    assert claim(stranger) is None
    assert _status(stranger) == Presence.AVAILABLE


def test_two_doctors_take_different_tickets(claim, line):
    opd, add = line
    add(1)
    add(2)
    first, second = member_doctor(opd), member_doctor(opd)
    _online(first, opd)
    _online(second, opd)
    assert (claim(first), claim(second)) == (1, 2)
    assert set(Ticket.objects.values_list("claimed_by", flat=True)) == {first.pk, second.pk}


def test_a_list_of_queues_is_taken_in_its_order(claim, line):
    opd, add = line
    other = OnlineOPDFactory(state=opd.state)
    first_queue, second_queue = Queue.objects.for_opd(opd), Queue.objects.for_opd(other)
    add(1)
    TicketFactory(opd=other, token_number=7, priority=Priority.HEAD)
    doctor = member_doctor(opd)
    _online(doctor, opd)
    assert claim(doctor, first_queue, second_queue) == 1
    _online(doctor, opd)
    assert claim(doctor, first_queue, second_queue) == 7
    _online(doctor, opd)
    assert claim(doctor, first_queue, second_queue) is None
    assert claim(doctor, second_queue) is None, "not online for any queue of the list"


def test_empty_queue_claims_nothing_and_leaves_the_doctor_as_they_were(claim, line):
    opd, _add = line
    doctor = member_doctor(opd)
    _online(doctor, opd, Presence.ON_BREAK)
    assert claim(doctor) is None
    assert _status(doctor) == Presence.ON_BREAK


def test_services_claim_takes_the_path_of_the_database(line):
    """``claim_next_ticket`` is the public entry; both paths behind it are tested above."""
    opd, add = line
    add(1)
    doctor = member_doctor(opd)
    _online(doctor, opd)
    with transaction.atomic():
        claimed = services.claim_next_ticket(doctor, None, doctor.user, timezone.now())
    assert claimed.ticket.token_number == 1
    assert Ticket.objects.get().status == Ticket.Status.CALLED
