"""The dashboards' pages, live figures and exports over consultations held through the real
services (the rollups count them as they end): the figures shown, the cache that keeps a
burst of the public off the database, the streamed CSV, and filters that never break a page."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sanjeevani.accounts.models import Role
from sanjeevani.dashboard import selectors
from sanjeevani.dashboard.figures import Scope
from sanjeevani.registry.models import State
from tests.dashboard.support import hold_consultation, hold_day
from tests.factories import (
    DistrictFactory,
    FacilityFactory,
    HubFactory,
    OnlineOPDFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(name="karnataka")
def karnataka_fixture():
    return State.objects.get(code="KA")


@pytest.fixture(name="opd")
def opd_fixture(karnataka):
    return OnlineOPDFactory(state=karnataka, code="ka-general")


@pytest.fixture(name="held")
def held_fixture(opd):
    """Two consultations completed at a Karnataka OPD and a patient still waiting."""
    return hold_day(opd, consultations_held=2, waiting=1)


def state_admin(state) -> object:
    return PostingFactory(user__role=Role.STATE_ADMIN, state=state).user


def figure(content: bytes, name: str) -> str:
    marker = f'data-figure="{name}">'.encode()
    start = content.index(marker) + len(marker)
    return content[start : content.index(b"<", start)].decode()


def live_figure(content: bytes, name: str) -> str:
    marker = f'data-live="{name}" aria-live="polite">'.encode()
    start = content.index(marker) + len(marker)
    return content[start : content.index(b"<", start)].decode()


# --- the public page ----------------------------------------------------------------------


def test_public_page_shows_the_figures_and_charts(client, held, opd):
    response = client.get(reverse("dashboard:national"))
    assert response.status_code == 200
    content = response.content
    assert figure(content, "consultations_to_date") == "2"
    assert figure(content, "consultations_today") == "2"
    assert figure(content, "patients_served") == "2"
    assert figure(content, "doctors_today") == "1"
    assert figure(content, "opds_general") == "1"
    assert live_figure(content, "waiting") == "1"
    # Each chart is an SVG named by its title, with its numbers in a table beside it.
    assert content.count(b'role="img"') == 4
    for chart in ("lines", "ranking", "map", "trend"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"'.encode() in content
    assert b'<th scope="row">Karnataka</th><td>2</td>' in content
    assert b"Online OPD: 2 (100%)" in content


def test_public_page_may_be_kept_by_shared_caches_for_a_minute(client, held):
    response = client.get(reverse("dashboard:national"))
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_signed_in_copy_stays_private(client, held):
    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN))
    response = client.get(reverse("dashboard:national"))
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    # A national administrator reaches every state's dashboard from here.
    assert reverse("dashboard:state", args=["KA"]).encode() in response.content


def test_the_public_gets_no_links_to_state_dashboards(client, held):
    response = client.get(reverse("dashboard:national"))
    assert reverse("dashboard:state", args=["KA"]).encode() not in response.content


def test_a_second_visit_costs_the_database_nothing(client, held):
    url = reverse("dashboard:national")
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)
    assert again.status_code == 200
    assert [q["sql"] for q in queries.captured_queries] == []
    assert figure(again.content, "consultations_to_date") == "2"


def test_figures_are_cached_for_a_minute_then_read_again(client, held, opd, monkeypatch):
    url = reverse("dashboard:national")
    client.get(url)
    hold_consultation(held, opd, PatientFactory())
    assert figure(client.get(url).content, "consultations_to_date") == "2"
    cache.clear()  # the minute has passed
    assert figure(client.get(url).content, "consultations_to_date") == "3"


def test_public_page_in_hindi(client, held):
    client.cookies["django_language"] = "hi"
    response = client.get(reverse("dashboard:national"))
    assert response.status_code == 200
    assert b'<html lang="hi">' in response.content


# --- live figures ---------------------------------------------------------------------------


def test_live_figures_as_json(client, held):
    response = client.get(reverse("dashboard:live"))
    assert response.status_code == 200
    assert response.json() == {"waiting": 1, "doctors_online": 1}
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard:live"))
    assert len(queries) == 0
    assert "max-age=10" in response["Cache-Control"]


def test_a_states_live_figures_are_for_its_administrators(client, held, karnataka):
    url = reverse("dashboard:live") + "?state=KA"
    assert client.get(url).status_code == 403
    client.force_login(state_admin(karnataka))
    assert client.get(url).json() == {"waiting": 1, "doctors_online": 1}
    assert client.get(reverse("dashboard:live") + "?hub=not-a-uuid").status_code == 404


# --- exports -------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_states_export_streams_and_parses_back(client, held):
    response = client.get(reverse("dashboard:export", args=["states"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0] == ["code", "state", "consultations"]
    assert ["KA", "Karnataka", "2"] in rows
    assert len(rows) >= 37  # the header and every state and UT


def test_trend_export_ends_today_with_the_days_consultations(client, held):
    rows = read_csv(client.get(reverse("dashboard:export", args=["trend"])))
    assert rows[0][:2] == ["day", "consultations"]
    assert rows[-1][1] == "2" and len(rows) == 31


def test_operational_exports_keep_their_dashboards_reach(client, held, karnataka):
    waits = reverse("dashboard:export", args=["waits"])
    response = client.get(waits + "?state=KA")
    assert response.status_code == 302 and "/accounts/staff/" in response["Location"]
    assert client.get(waits).status_code == 302  # the whole country's: national admins only
    client.force_login(state_admin(karnataka))
    assert client.get(waits).status_code == 403
    assert client.get(waits + "?state=TN").status_code == 404
    rows = read_csv(client.get(waits + "?state=KA"))
    assert rows[0][0] == "day" and len(rows) == 2 and rows[1][3] == "2"
    bad = client.get(waits + "?state=KA&start=yesterday")
    assert bad.status_code == 400
    assert client.get(reverse("dashboard:export", args=["secrets"])).status_code == 404


# --- the state and hub dashboards ---------------------------------------------------------


def test_state_dashboard_shows_its_figures_and_operations(client, held, karnataka):
    client.force_login(state_admin(karnataka))
    response = client.get(reverse("dashboard:state", args=["KA"]))
    assert response.status_code == 200
    assert figure(response.content, "consultations_to_date") == "2"
    assert b"Busiest hours" in response.content
    assert b'id="ops-waits"' in response.content
    assert b"error-summary" not in response.content
    assert "private" in response["Cache-Control"]


def test_a_states_spokes_have_their_own_page_linked_from_its_dashboard(client, held, karnataka):
    FacilityFactory(state=karnataka, name="Quiet Hill HWC")
    client.force_login(state_admin(karnataka))
    page = client.get(reverse("dashboard:state", args=["KA"]) + "?start=2026-01-01")
    spokes_url = reverse("dashboard:state_spokes", args=["KA"])
    assert f'href="{spokes_url}?start=2026-01-01"'.encode() in page.content
    assert b'id="ops-quiet"' not in page.content, "the state's spokes are not read here"
    assert b"Quiet Hill HWC" not in page.content
    assert b'id="ops-equity"' in page.content  # its districts
    spokes = client.get(spokes_url)
    assert spokes.status_code == 200
    assert "private" in spokes["Cache-Control"]
    for table in (b'id="ops-quiet"', b'id="ops-equity"', b"Quiet Hill HWC"):
        assert table in spokes.content
    quiet_csv = reverse("dashboard:export", args=["quiet_spokes"])
    assert f"{quiet_csv}?state=KA".encode() in spokes.content
    bad = client.get(spokes_url + "?start=2026-02-30")
    assert bad.status_code == 200 and b"error-summary" in bad.content


def test_the_equity_tables_and_export_show_populations_and_mark_the_unknown(
    client, held, karnataka
):
    district = DistrictFactory(state=karnataka, name="Populous", population=1_234_567)
    FacilityFactory(
        state=karnataka, district=district, name="Counted HWC", catchment_population=4_000
    )
    FacilityFactory(state=karnataka, district=district, name="Uncounted HWC")
    client.force_login(state_admin(karnataka))
    spokes = client.get(reverse("dashboard:state_spokes", args=["KA"])).content.decode()
    equity = spokes[spokes.index('id="ops-equity"') :]
    assert "Consultations per 100,000 people" in equity
    assert '<td class="n">4,000</td><td class="n">0.0</td>' in equity
    unknown = (
        '<span aria-hidden="true">—</span><span class="visually-hidden">population not known</span>'
    )
    assert equity.index("Counted HWC") < equity.index("Uncounted HWC")  # the unknown after
    assert equity[equity.index("Uncounted HWC") :].count(unknown) == 2  # population, per head
    state_page = client.get(reverse("dashboard:state", args=["KA"])).content.decode()
    assert '<td class="n">1,234,567</td>' in state_page  # the district's people
    rows = read_csv(client.get(reverse("dashboard:export", args=["equity"]) + "?state=KA"))
    assert rows[0] == ["kind", "id", "name", "consultations", "population", "per_100k"]
    by_name = {row[2]: row[3:] for row in rows[1:]}
    assert by_name["Populous"] == ["0", "1234567", "0.0"]
    assert by_name["Counted HWC"] == ["0", "4000", "0.0"]
    assert by_name["Uncounted HWC"] == ["0", "", ""]  # not known: empty cells


@pytest.mark.parametrize(
    "query",
    [
        "start=not-a-day",
        "start=2026-02-30",
        "start=2025-05-01&end=2025-04-01",
        "start=2020-01-01&end=2025-01-01",
        "start=1900-01-01",
        "district=abc",
        "district=999999",
        "district=99999999999999999999999",
        "district=-1",
        "facility=NO-SUCH-PLACE",
        "specialty=astrology",
        "start=2024%0001-01",
        "end=" + "9" * 300,
    ],
)
def test_bad_filters_are_a_message_not_an_error(client, held, karnataka, query):
    client.force_login(state_admin(karnataka))
    response = client.get(reverse("dashboard:state", args=["KA"]) + "?" + query)
    assert response.status_code == 200
    assert b"error-summary" in response.content
    # The figures are shown unfiltered.
    assert figure(response.content, "consultations_to_date") == "2"


def test_filters_narrow_the_figures(client, held, karnataka, opd):
    client.force_login(state_admin(karnataka))
    url = reverse("dashboard:state", args=["KA"])
    district = DistrictFactory(state=karnataka)
    other = OnlineOPDFactory(state=karnataka, code="ka-skin")
    for query, expected in [
        (f"facility={opd.code}", "2"),
        (f"facility={other.code}", "0"),
        (f"district={district.pk}", "0"),
        ("start=2001-01-01&end=2001-01-31", "0"),
    ]:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, query
        assert b"error-summary" not in response.content, query
        assert figure(response.content, "consultations_to_date") == expected, query


def test_hub_dashboard_for_its_coordinator(client, karnataka):
    hub = HubFactory(state=karnataka)
    coordinator = PostingFactory(user__role=Role.HUB_COORDINATOR, facility=hub, state=karnataka)
    client.force_login(coordinator.user)
    response = client.get(reverse("dashboard:hub", args=[hub.pk]))
    assert response.status_code == 200
    assert figure(response.content, "hubs") == "1"
    other = HubFactory(state=karnataka)
    assert client.get(reverse("dashboard:hub", args=[other.pk])).status_code == 404


def test_administrators_and_coordinators_find_their_dashboard(client, karnataka):
    client.force_login(state_admin(karnataka))
    overview = client.get(reverse("portal:overview"))
    assert reverse("dashboard:state", args=["KA"]).encode() in overview.content
    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN))
    overview = client.get(reverse("portal:overview"))
    assert f'href="{reverse("dashboard:national")}"'.encode() in overview.content


def test_a_stale_entry_is_recomputed_once_while_others_are_served_it(monkeypatch, held, opd):
    """When the minute is up in the middle of a burst, the request that takes the lock
    recomputes; the others get the last figures instead of each querying the database."""
    clock = [1_000.0]
    monkeypatch.setattr(selectors, "_now", lambda: clock[0])
    assert selectors.overview(Scope()).headline.consultations_to_date == 2
    hold_consultation(held, opd, PatientFactory())
    clock[0] += selectors.FIGURES_SECONDS + 1
    lock = selectors._key("overview", Scope(), timezone.localdate()) + ":lock"
    assert cache.add(lock, 1, 30)  # another request is recomputing
    with CaptureQueriesContext(connection) as queries:
        assert selectors.overview(Scope()).headline.consultations_to_date == 2
    assert len(queries) == 0
    cache.delete(lock)
    assert selectors.overview(Scope()).headline.consultations_to_date == 3
    with CaptureQueriesContext(connection) as queries:
        assert selectors.overview(Scope()).headline.consultations_to_date == 3
    assert len(queries) == 0


def test_exports_from_a_filtered_dashboard_carry_its_filters(client, held, karnataka):
    client.force_login(state_admin(karnataka))
    url = reverse("dashboard:state", args=["KA"])
    filtered = client.get(url + "?start=2026-01-01&end=2026-01-31").content.decode()
    waits = reverse("dashboard:export", args=["waits"])
    assert f"{waits}?state=KA&amp;start=2026-01-01&amp;end=2026-01-31" in filtered
    invalid = client.get(url + "?start=nonsense").content.decode()
    assert f'{waits}?state=KA"' in invalid  # unfiltered, as the page's figures are
