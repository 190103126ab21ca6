"""The duplicate check before a centre registers a walk-in, at national size on PostgreSQL
(issue 15, items 1 and 5): 10 million patients in 700 districts, one of them large.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/duplicate_check.py        [--rows 10000000] [--keep]

It makes a scratch database ``sv_bench_duplicates`` with the migrations, fills the patients
in SQL with ``generate_series`` (names from common Indian first names and surnames, a fifth
in Devanagari, so a district holds many people of the same name, as a real one does), runs
``ANALYZE``, then in a large district (5 % of the country) and a typical one checks, for
people registered last and for people registered long ago, their names typed again with a
slip, each as:

- **now** (``hwc.selectors.possible_duplicates``): the district's 5,000 newest (read through
  the ``patient_district_newest`` index) and the centre's own, compared with rapidfuzz;
- **now, SSD**: the same with ``random_page_cost`` 1.1, as ``docs/deployment.md`` asks of a
  PostgreSQL on SSD storage (its plan is printed too);
- **ids** (until 2026-12-07): the same rows, but each id read as a ``UUID`` object and the
  centre's own read again after the district's;
- **before** (until 2026-12-06): the scope's 5,000 oldest (``Patient.Meta.ordering``, the
  whole scope sorted), compared with rapidfuzz.

For each: the time and process CPU per check, the names read, and whether the person was
offered. Then the plan of the district's read (``EXPLAIN (ANALYZE, BUFFERS)``).

Then the CHO's "Find" on the same table (``hwc.selectors.find_patients``; a quarter of the
patients have an ABHA number), by mobile number, patient ID typed in small letters and ABHA
number, for patients of the large district's centre: time and CPU per search, **now** (each
way in an indexed equality) and **before** (until 2026-12-07: one ``OR`` of an upper-cased
ID, the unindexed ABHA number and a join to the accounts), and the plan of each search.
The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from scratch_database import scratch_postgres  # noqa: E402

NAME = "sv_bench_duplicates"
DISTRICTS = 700
BEFORE_TIMEOUT_S = 30

FIRST = [
    "Ramesh", "Suresh", "Sunita", "Anita", "Lakshmi", "Mohammed", "Fatima", "Gurpreet",
    "Asha", "Ram", "Shyam", "Geeta", "Sita", "Rajesh", "Mahesh", "Kavita", "Pooja", "Rahul",
    "Anil", "Sunil", "Savitri", "Kamala", "Venkatesh", "Srinivas", "Priya", "Deepak", "Meena",
    "Rekha", "Manoj", "Vijay", "Ajay", "Sanjay", "Radha", "Krishna", "Ganesh", "Parvati",
    "Imran", "Salma", "Harpreet", "Baldev",
]  # fmt: skip
LAST = [
    "Kumar", "Devi", "Singh", "Sharma", "Yadav", "Patel", "Reddy", "Naidu", "Shaikh", "Khan",
    "Bai", "Rao", "Verma", "Gupta", "Das", "Mondal", "Pillai", "Nair", "Kaur", "Lal",
    "Prasad", "Mishra", "Pandey", "Chauhan", "Jadhav",
]  # fmt: skip
FIRST_HI = ["राम", "सीता", "रमेश", "सुनीता", "गीता", "श्याम", "लक्ष्मी", "कृष्ण", "राधा", "अनिल"]
LAST_HI = ["कुमार", "देवी", "शर्मा", "यादव", "सिंह", "लाल", "प्रसाद", "वर्मा"]

FILL = """
INSERT INTO patients_patient (
    id, patient_number, relation, name, age_years, sex, preferred_language, abha_number,
    abha_address, registered_at_facility_id, created_at, district_id, state_id, address)
SELECT gen_random_uuid(), 'B' || lpad(g::text, 11, '0'), 'self',
       CASE WHEN h %% 5 = 0
            THEN (%(first_hi)s::text[])[1 + (h / 7) %% cardinality(%(first_hi)s::text[])]
                 || ' ' || (%(last_hi)s::text[])[1 + (h / 97) %% cardinality(%(last_hi)s::text[])]
            ELSE (%(first)s::text[])[1 + (h / 7) %% cardinality(%(first)s::text[])]
                 || ' ' || (%(last)s::text[])[1 + (h / 389) %% cardinality(%(last)s::text[])]
                 || CASE WHEN h %% 3 = 0
                         THEN ' ' || (%(first)s::text[])[1 + (h / 9973) %% 40] ELSE '' END
       END,
       20 + h %% 60, 'F', 'en',
       CASE WHEN h %% 4 = 0 THEN lpad(g::text, 14, '9') ELSE '' END, '', NULL,
       now() - make_interval(secs => (%(rows)s - g)),
       CASE WHEN g %% 20 = 1 THEN %(large)s ELSE %(districts)s[1 + h %% %(n)s] END,
       %(state)s, ''
FROM (SELECT g, hashint8(g) & 2147483647 AS h
        FROM generate_series(%(low)s::bigint, %(high)s::bigint) g) AS numbers
"""


def _compare(names: list[tuple], typed: str) -> list:
    from rapidfuzz import fuzz, process

    from sanjeevani.hwc.selectors import DUPLICATE_NAME_SCORE

    similar = process.extract(
        " ".join(typed.split()).lower(),
        [n.lower() for _pk, n in names],
        scorer=fuzz.token_sort_ratio,
        score_cutoff=DUPLICATE_NAME_SCORE,
        limit=None,
    )
    return [uuid.UUID(str(names[i][0])) for _n, _s, i in similar]


def _before(centre, typed: str) -> tuple[set, int]:
    """The check as it was: the scope's 5,000 oldest (``Patient.Meta.ordering``). Given
    ``BEFORE_TIMEOUT_S`` at most: at 10 million patients PostgreSQL scans the table."""
    from django.db import connection, transaction
    from django.db.models import Q

    from sanjeevani.hwc.selectors import centre_patients
    from sanjeevani.patients.models import Patient

    scope = Q(registered_at_facility_id=centre.pk) | Q(pk__in=centre_patients(centre).values("pk"))
    scope |= Q(district_id=centre.district_id)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = '{BEFORE_TIMEOUT_S}s'")
        names = list(Patient.objects.filter(scope).values_list("pk", "name")[:5000])
    return set(_compare(names, typed)), len(names)


def _now(centre, typed: str) -> tuple[set, int]:
    from sanjeevani.hwc import selectors

    names = selectors._names_to_compare(centre)
    return set(_compare(names, typed)), len(names)


#: PostgreSQL's cost of a random page read on SSD storage (``docs/deployment.md``); the
#: default, 4, is a spinning disk's.
SSD_RANDOM_PAGE_COST = "1.1"


@contextlib.contextmanager
def _ssd_costs():
    """A connection of its own whose planner is told that random reads are cheap, as the
    deployment guide sets it for the database. Its own, because a statement prepared on
    the old connection keeps the plan it was prepared with."""
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"SET random_page_cost = {SSD_RANDOM_PAGE_COST}")
    try:
        yield
    finally:
        connection.close()


def _uuids(centre, typed: str) -> tuple[set, int]:
    """The read as it was until 2026-12-07: each id made a ``UUID`` object, and the centre's
    own read again after the district's (the same rows, when they are the district's)."""
    from sanjeevani.hwc import selectors
    from sanjeevani.patients.models import Patient

    scopes = [Patient.objects.filter(district_id=centre.district_id)]
    scopes += selectors._centre_scopes(centre)
    names: dict = {}
    for scope in scopes:
        newest = scope.order_by("-created_at").values_list("pk", "name")
        for pk, name in newest[: selectors.DUPLICATE_CANDIDATES]:
            names.setdefault(pk, name)
    return set(_compare(list(names.items()), typed)), len(names)


def _measure(label: str, check, people: list[tuple]) -> None:
    """``people``: (id, name as typed again). Offered: the person is among those the
    comparison flags (``possible_duplicates`` then filters by age and village)."""
    from django.db import OperationalError

    wall, cpu, reads, offered = [], [], [], 0
    for pk, typed in people:
        try:
            check(typed)  # warm
        except OperationalError:  # the statement timeout
            print(f"    {label:7} more than {BEFORE_TIMEOUT_S} s per check: stopped", flush=True)
            return
        w, c = time.perf_counter(), time.process_time()
        flagged, read = check(typed)
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        reads.append(read)
        offered += pk in flagged
    print(
        f"    {label:7} {statistics.median(wall):8.1f} ms {statistics.median(cpu):7.1f} ms CPU"
        f" {statistics.median(reads):7,.0f} names read   offered {offered}/{len(people)}",
        flush=True,
    )


def _slip(name: str) -> str:
    """The name as a health worker may type it again: words swapped, one letter doubled."""
    text = " ".join(reversed(name.split()))
    return text[:2] + text[1] + text[2:]


def _explained(sql: str, params=None) -> str:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of one query, summed up: its time inside PostgreSQL,
    the kinds of scan (and their tables) and the indexes read."""
    import json

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        raw = cursor.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]

    def walk(node):
        yield node
        for child in node.get("Plans", []):
            yield from walk(child)

    nodes = list(walk(plan["Plan"]))
    indexes = sorted({n["Index Name"] for n in nodes if "Index Name" in n})
    kinds = sorted(
        {
            f"{n['Node Type']} on {n['Relation Name']}" if "Relation Name" in n else n["Node Type"]
            for n in nodes
        }
    )
    return f"{plan['Execution Time']:.2f} ms in PostgreSQL; {'; '.join(kinds)}; indexes {indexes}"


def _plan(district_id: int, ssd: bool = False) -> str:
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from sanjeevani.hwc import selectors
    from sanjeevani.patients.models import Patient

    query = (
        Patient.objects.filter(district_id=district_id)
        .order_by("-created_at")
        .values_list(Cast("pk", output_field=CharField()), "name")[: selectors.DUPLICATE_CANDIDATES]
    )
    if not ssd:
        return _explained(*query.query.sql_with_params())
    with _ssd_costs():
        return _explained(*query.query.sql_with_params())


def _find_before(centre, query: str) -> list:
    """The search as it was until 2026-12-07, given ``BEFORE_TIMEOUT_S`` at most."""
    import contextlib
    import re

    from django.core.exceptions import ValidationError
    from django.db import connection, transaction
    from django.db.models import Q

    from sanjeevani.accounts.errors import SignInError
    from sanjeevani.accounts.mobile_numbers import normalise_mobile
    from sanjeevani.hwc.selectors import centre_patients
    from sanjeevani.patients.abha import normalise_abha_number

    lookups = Q(patient_number__iexact=query)
    with contextlib.suppress(ValidationError):
        lookups |= Q(abha_number=normalise_abha_number(query))
    if re.sub(r"[\s-]", "", query).lstrip("+").isdigit():
        with contextlib.suppress(ValidationError, SignInError):
            lookups |= Q(account__mobile=normalise_mobile(query))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL statement_timeout = '{BEFORE_TIMEOUT_S}s'")
        return list(centre_patients(centre).filter(lookups).order_by("name")[:20])


def _search_plan(centre, query: str) -> str:
    """The plan of the search's patient query, as ``find_patients`` sends it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sanjeevani.hwc import selectors

    with CaptureQueriesContext(connection) as captured:
        selectors.find_patients(centre, query)
    (sql,) = [q["sql"] for q in captured if "patients_patient" in q["sql"]]
    return _explained(sql)


def _measure_find(centre, people: list) -> None:
    from django.db import OperationalError

    from sanjeevani.hwc import selectors

    ways = {
        "mobile number": lambda p: p.account.mobile[3:],
        "patient ID, small letters": lambda p: p.patient_number.lower(),
        "ABHA number": lambda p: (
            f"{p.abha_number[:2]}-{p.abha_number[2:6]}-{p.abha_number[6:10]}-{p.abha_number[10:]}"
        ),
    }
    for way, typed in ways.items():
        print(f"   by {way}:", flush=True)
        for label, search in (
            ("now", selectors.find_patients),
            ("before", _find_before),
        ):
            wall, cpu, found = [], [], 0
            try:
                for patient in people:
                    search(centre, typed(patient))  # warm
                    w, c = time.perf_counter(), time.process_time()
                    result = search(centre, typed(patient))
                    wall.append((time.perf_counter() - w) * 1000)
                    cpu.append((time.process_time() - c) * 1000)
                    found += patient in result
            except OperationalError:
                print(f"    {label:7} more than {BEFORE_TIMEOUT_S} s per search: stopped")
                continue
            print(
                f"    {label:7} {statistics.median(wall):8.2f} ms"
                f" {statistics.median(cpu):7.2f} ms CPU   found {found}/{len(people)}",
                flush=True,
            )
        print(f"    plan now: {_search_plan(centre, typed(people[0]))}", flush=True)


def _find_at_a_centre(centre) -> None:
    """Ten of the district's patients with an ABHA number made the centre's own
    (registered there), each with a mobile number of their own."""
    from sanjeevani.accounts.models import Role, User
    from sanjeevani.patients.models import Patient

    picked = list(
        Patient.objects.filter(district_id=centre.district_id)
        .exclude(abha_number="")
        .order_by("-created_at")[:10]
    )
    for n, patient in enumerate(picked):
        mobile = f"+9198765{n:05d}"
        patient.account = User.objects.create(username=mobile, mobile=mobile, role=Role.PATIENT)
        patient.registered_at_facility_id = centre.pk
        patient.save(update_fields=["account", "registered_at_facility_id"])
    print(f"  the CHO's Find at the large district's centre, {len(picked)} patients:")
    _measure_find(centre, picked)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="Leave the database for another look.")
    args = parser.parse_args()
    with scratch_postgres(NAME, needs="national size is PostgreSQL's", keep=args.keep):
        from django.db import connection

        from sanjeevani.patients.models import Patient
        from sanjeevani.registry.models import District, Facility, State

        state = State.objects.create(code="BD", name="Bench State")
        districts = [
            d.pk
            for d in District.objects.bulk_create(
                District(state=state, name=f"District {n}") for n in range(DISTRICTS)
            )
        ]
        large, typical = districts[0], districts[1]
        print(f"filling {args.rows:,} patients in {DISTRICTS} districts", flush=True)
        started = time.monotonic()
        chunk = 1_000_000
        for low in range(1, args.rows + 1, chunk):
            high = min(low + chunk - 1, args.rows)
            with connection.cursor() as cursor:
                cursor.execute(
                    FILL,
                    {
                        "first": FIRST, "last": LAST, "first_hi": FIRST_HI, "last_hi": LAST_HI,
                        "rows": args.rows, "large": large, "districts": districts[1:],
                        "n": len(districts) - 1, "state": state.pk, "low": low, "high": high,
                    },
                )  # fmt: skip
            print(f"  {high:,} patients, {time.monotonic() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) patients_patient")
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('patients_patient'))")
            size = cursor.fetchone()[0]
        print(f"filled and analysed in {time.monotonic() - started:.0f} s; {size} with indexes")
        for label, district_id in (("large", large), ("typical", typical)):
            centre = Facility.objects.create(
                code=f"BENCH-{label.upper()}",
                name=f"Centre of the {label} district",
                level=Facility.Level.SUB_CENTRE,
                state=state,
                district_id=district_id,
                is_spoke=True,
            )
            in_district = Patient.objects.filter(district_id=district_id).order_by("-created_at")
            # One in ten of the district's patients registered at this centre.
            in_district.filter(patient_number__regex=r"0[0-9]$").update(
                registered_at_facility_id=centre.pk
            )
            count = in_district.count()
            print(f"  {label} district: {count:,} patients", flush=True)
            for who, rows in (
                ("registered last", in_district.values_list("pk", "name")[:40:4]),
                ("registered first", in_district.reverse().values_list("pk", "name")[:40:4]),
            ):
                people = [(pk, _slip(name)) for pk, name in rows]
                print(f"   {len(people)} people {who}, their names typed with a slip:")
                _measure("now", lambda t, c=centre: _now(c, t), people)
                with _ssd_costs():
                    _measure("now, SSD", lambda t, c=centre: _now(c, t), people)
                _measure("ids", lambda t, c=centre: _uuids(c, t), people)
                _measure("before", lambda t, c=centre: _before(c, t), people)
            print(f"   plan of the district's read: {_plan(district_id)}", flush=True)
            print(f"   the same on SSD costs: {_plan(district_id, ssd=True)}", flush=True)
            if label == "large":
                large_centre = centre
        _find_at_a_centre(large_centre)


if __name__ == "__main__":
    main()
