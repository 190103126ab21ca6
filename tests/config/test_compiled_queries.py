"""A compiled query (config/compiled_queries.py) answers as the queryset it was built from:
the same rows, the same field values after the database's conversions, the same related
rows loaded with them; it compiles once per connection and refuses what would change its
SQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import CharField, IntegerField, UUIDField
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.accounts.api_tokens import token_for_key
from sanjeevani.accounts.models import DeviceToken, Role
from sanjeevani.config.compiled_queries import CompiledCount, CompiledQuery, Slot, locked_row
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.selectors import (
    latest_consultation_id_of_ticket,
    latest_consultation_of_ticket,
)
from sanjeevani.queueing.models import Ticket
from sanjeevani.queueing.selectors import ticket_for_family
from tests.factories import DoctorFactory, StaffUserFactory
from tests.prescriptions.factories import ConsultationFactory
from tests.queueing.factories import TicketFactory

pytestmark = pytest.mark.django_db

TOKENS = CompiledQuery(
    lambda: DeviceToken.objects.select_related("user").filter(
        key_prefix=Slot("prefix", CharField())
    )
)
TICKET = CompiledQuery(
    lambda: Ticket.objects.select_related("patient", "opd", "claimed_by__user").filter(
        pk=Slot("ticket", UUIDField())
    )[:2]
)

LOCKED_TICKET = locked_row(Ticket, "opd")


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_the_rows_and_their_relations_are_the_querysets(django_assert_num_queries):
    issued = DeviceToken.objects.issue(StaffUserFactory(role=Role.DOCTOR), device="phone")
    prefix = issued.token.key_prefix
    expected = list(DeviceToken.objects.select_related("user").filter(key_prefix=prefix))
    with django_assert_num_queries(1):
        found = TOKENS(prefix=prefix)
        assert [fields_of(t) for t in found] == [fields_of(t) for t in expected]
        assert [fields_of(t.user) for t in found] == [fields_of(t.user) for t in expected]
    assert found[0].last_used_at.tzinfo is not None
    assert not found[0]._state.adding and found[0]._state.db == "default"
    assert TOKENS(prefix="nothing!") == []


def test_an_empty_nullable_relation_is_loaded_as_none(django_assert_num_queries):
    ticket = TicketFactory()
    with django_assert_num_queries(1):
        found = TICKET.one(ticket=ticket.pk)
        assert found.claimed_by is None
        assert found.patient == ticket.patient and found.opd.name == ticket.opd.name
    claimed = TicketFactory(claimed_by=DoctorFactory())
    with django_assert_num_queries(1):
        found = TICKET.one(ticket=claimed.pk)
        assert found.claimed_by.user.username == claimed.claimed_by.user.username


def test_one_raises_as_get_does():
    with pytest.raises(Ticket.DoesNotExist):
        TICKET.one(ticket="00000000-0000-0000-0000-000000000000")
    doctor = StaffUserFactory(role=Role.DOCTOR)
    for _ in range(2):
        DeviceToken.objects.create(user=doctor, key_prefix="samepfx", key_hash=str(_))
    with pytest.raises(DeviceToken.MultipleObjectsReturned):
        TOKENS.one(prefix="samepfx")


def test_none_is_refused_rather_than_compared_with_equals():
    with pytest.raises(ValueError, match="no None"):
        TOKENS(prefix=None)


def test_a_prefetch_cannot_be_compiled():
    prefetching = CompiledQuery(
        lambda: Ticket.objects.prefetch_related("patient").filter(pk=Slot("ticket", UUIDField()))
    )
    with pytest.raises(ValueError, match="cannot prefetch"):
        prefetching(ticket=TicketFactory().pk)


def test_it_compiles_once_per_connection(monkeypatch):
    query = CompiledQuery(
        lambda: Ticket.objects.select_related("opd").filter(pk=Slot("ticket", UUIDField()))
    )
    compiles = []
    real = CompiledQuery._compile
    monkeypatch.setattr(
        CompiledQuery, "_compile", lambda self, alias: compiles.append(alias) or real(self, alias)
    )
    tickets = [TicketFactory() for _ in range(3)]
    assert [query.one(ticket=t.pk).pk for t in tickets] == [t.pk for t in tickets]
    assert compiles == ["default"]


def test_the_hot_reads_that_use_it_still_find_only_their_own():
    mine, theirs = TicketFactory(), TicketFactory()
    account = mine.patient.account
    assert ticket_for_family(account, mine.pk) == mine
    with pytest.raises(Ticket.DoesNotExist):
        ticket_for_family(account, theirs.pk)
    issued = DeviceToken.objects.issue(account, device="phone")
    assert token_for_key(issued.key).user == account
    assert token_for_key(issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")) is None


def test_a_called_tokens_consultation_is_its_newest_and_its_own():
    ticket, other = TicketFactory(), TicketFactory()
    assert latest_consultation_id_of_ticket(ticket) is None
    older = ConsultationFactory(
        ticket=ticket, patient=ticket.patient, status=Consultation.Status.ENDED
    )
    Consultation.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=5)
    )
    newer = ConsultationFactory(ticket=ticket, patient=ticket.patient)
    ConsultationFactory(ticket=other, patient=other.patient)
    assert latest_consultation_id_of_ticket(ticket) == newer.pk
    latest = latest_consultation_of_ticket(ticket)
    assert latest.pk == newer.pk
    with CaptureQueriesContext(connection) as queries:
        assert latest.doctor.user.username == newer.doctor.user.username
    assert len(queries) == 0, "the doctor and their account come with the consultation"


def fails(read) -> bool:
    try:
        read()
    except TransactionManagementError:
        return True
    return False


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_fails_as_djangos_does():
    """On PostgreSQL the lock would end with the statement, so both refuse; SQLite takes no
    row locks and Django lets it run there, so the compiled read does too."""
    ticket = TicketFactory()
    with transaction.atomic():
        assert LOCKED_TICKET.one(pk=ticket.pk).opd.name == ticket.opd.name
    djangos = fails(lambda: list(Ticket.objects.select_for_update().filter(pk=ticket.pk)))
    assert fails(lambda: LOCKED_TICKET.one(pk=ticket.pk)) is djangos
    assert djangos is (connection.vendor == "postgresql")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): SQLite locks the whole file, not a row",
)
def test_a_locking_read_holds_the_row_until_its_transaction_ends():
    ticket = TicketFactory()

    def lock_from_another_connection() -> str:
        try:
            with transaction.atomic():
                list(Ticket.objects.select_for_update(nowait=True).filter(pk=ticket.pk))
            return "got the lock"
        except DatabaseError:
            return "row locked"
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as other:
        with transaction.atomic():
            LOCKED_TICKET.one(pk=ticket.pk)
            assert other.submit(lock_from_another_connection).result() == "row locked"
        assert other.submit(lock_from_another_connection).result() == "got the lock"


AHEAD_OF = CompiledCount(
    lambda: Ticket.objects.filter(
        queue_id=Slot("queue", UUIDField()), token_number__lt=Slot("number", IntegerField())
    ).exclude(status=Ticket.Status.CANCELLED)
)


def test_a_compiled_count_counts_as_the_querysets_count(django_assert_num_queries):
    first = TicketFactory()
    queue = first.queue
    tickets = [first] + [TicketFactory(opd=first.opd, queue=queue) for _ in range(4)]
    tickets[1].status = Ticket.Status.CANCELLED
    tickets[1].save(update_fields=["status"])
    TicketFactory()  # another queue's
    for ticket in tickets:
        expected = (
            Ticket.objects.filter(queue_id=queue.pk, token_number__lt=ticket.token_number)
            .exclude(status=Ticket.Status.CANCELLED)
            .count()
        )
        with django_assert_num_queries(1):
            assert AHEAD_OF(queue=queue.pk, number=ticket.token_number) == expected
    assert AHEAD_OF(queue=queue.pk, number=tickets[-1].token_number) == 3


def test_a_compiled_count_compiles_once_per_connection(monkeypatch):
    count = CompiledCount(lambda: Ticket.objects.filter(queue_id=Slot("queue", UUIDField())))
    compiled = []
    real = CompiledCount._compile
    monkeypatch.setattr(
        CompiledCount, "_compile", lambda self, alias: compiled.append(alias) or real(self, alias)
    )
    tickets = [TicketFactory() for _ in range(3)]
    assert [count(queue=t.queue_id) for t in tickets] == [1, 1, 1]
    assert compiled == ["default"]
    with pytest.raises(ValueError, match="no None"):
        count(queue=None)
