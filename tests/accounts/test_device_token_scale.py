"""Device tokens at national size (a token per patient's phone, millions): the daily purge
of idle tokens and the administration's list read a range of the last-use index
(``devicetoken_last_used``), never the whole table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.accounts import api_tokens
from sanjeevani.accounts.models import DeviceToken, Role
from tests.factories import StaffUserFactory
from tests.registry.factories import national_admin

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL=postgres://...): the query plans are its own",
    ),
]

TOKENS = 60_000


def fill_tokens(owner_id: int, days: int) -> None:
    """``TOKENS`` rows of one owner, last used over ``days`` days, as a bench would fill them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_devicetoken
                (id, user_id, key_prefix, key_hash, device, created_at, last_used_at)
            SELECT gen_random_uuid(), %(owner)s, left(md5(i::text), 8), md5(i::text) || md5('k'),
                   'phone', now() - make_interval(days => %(days)s),
                   now() - make_interval(secs => i::float8 / %(n)s * %(days)s * 86400)
            FROM generate_series(1, %(n)s) AS i
            """,
            {"owner": owner_id, "days": days, "n": TOKENS},
        )
        cursor.execute("ANALYZE accounts_devicetoken")


def plan_of(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_purge_of_idle_tokens_reads_the_index_not_the_table(settings):
    settings.API_TOKEN_IDLE_DAYS = 30
    owner = StaffUserFactory(role=Role.DOCTOR)
    fill_tokens(owner.pk, days=31)
    now = timezone.now()
    with CaptureQueriesContext(connection) as captured:
        deleted = api_tokens.purge_expired_tokens(now)
    assert 0 < deleted < TOKENS
    assert not DeviceToken.objects.filter(last_used_at__lt=now - dt.timedelta(days=30)).exists()
    (purge,) = [q["sql"] for q in captured if q["sql"].startswith("DELETE FROM")]
    plan = plan_of(purge)
    assert "devicetoken_last_used" in plan, plan
    assert "Seq Scan on accounts_devicetoken" not in plan, plan


def test_the_administration_list_reads_the_newest_uses_from_the_index():
    owner = StaffUserFactory(role=Role.DOCTOR)
    fill_tokens(owner.pk, days=30)
    model_admin = admin.site._registry[DeviceToken]
    request = RequestFactory().get("/admin/accounts/devicetoken/")
    request.user = national_admin()
    changelist = model_admin.get_changelist_instance(request)
    page = changelist.paginator.page(1).object_list
    with CaptureQueriesContext(connection) as captured:
        rows = list(page)
    assert len(rows) == model_admin.list_per_page
    assert rows[0].last_used_at >= rows[-1].last_used_at
    (listing,) = [q["sql"] for q in captured if "accounts_devicetoken" in q["sql"]]
    plan = plan_of(listing)
    assert "devicetoken_last_used" in plan, plan
    assert "Seq Scan on accounts_devicetoken" not in plan, plan
