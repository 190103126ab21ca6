"""seed_national on a small country: the plan's counts, N consultations with the configured
shares, every row valid against the models' constraints, deterministic, refusals."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count

from sanjeevani.consultations.models import Consultation
from sanjeevani.dashboard.seeding import plan_country
from sanjeevani.dashboard.seeding.country import FULL_HUBS, FULL_OPDS, FULL_SPOKES
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    RosterShift,
)

pytestmark = pytest.mark.django_db
N = 400


def seed(n: int = N, **options) -> str:
    out = io.StringIO()
    call_command(
        "seed_national",
        consultations=n,
        small=True,
        yes=True,
        stdout=out,
        stderr=io.StringIO(),
        **options,
    )
    return out.getvalue()


def test_the_full_plan_has_the_national_counts():
    plan = plan_country()
    assert len(plan.states) == 36
    assert plan.total_spokes == FULL_SPOKES == 115_234
    assert plan.total_hubs == FULL_HUBS == 15_731
    assert plan.total_opds == FULL_OPDS == 1_152
    assert 760 <= sum(plan.districts.values()) <= 800
    assert all(plan.hubs[code] >= 1 and plan.opds[code] >= 1 for code in plan.states)
    ranking = sorted(plan.consultation_share, key=plan.consultation_share.get, reverse=True)
    assert ranking[:5] == ["AP", "TN", "WB", "KA", "UP"]


def test_small_country_matches_its_plan():
    plan = plan_country(small=True)
    seed()
    facilities = Facility.objects.filter(code__startswith="SN")
    assert set(facilities.values_list("state__code", flat=True)) == set(plan.states)
    assert facilities.filter(is_spoke=True).count() == plan.total_spokes
    assert facilities.filter(is_hub=True).count() == plan.total_hubs
    assert OnlineOPD.objects.count() == plan.total_opds
    for code in plan.states:
        assert District.objects.filter(state__code=code).count() == plan.districts[code]
    # The national proportions, kept at the small scale.
    ratio = plan.total_spokes / plan.total_hubs
    assert abs(ratio - FULL_SPOKES / FULL_HUBS) < 0.2
    # Each spoke has one or two hubs, in its own district when that district has one.
    per_spoke = HubSpokeLink.objects.values("spoke").annotate(n=Count("id"))
    assert {row["n"] for row in per_spoke} <= {1, 2}
    assert per_spoke.count() == plan.total_spokes
    assert not HubSpokeLink.objects.exclude(hub__state=models_f("spoke__state")).exists()
    hubs_by_district = set(Facility.objects.filter(is_hub=True).values_list("district", flat=True))
    mislinked = HubSpokeLink.objects.filter(spoke__district__in=hubs_by_district).exclude(
        hub__district=models_f("spoke__district")
    )
    assert not mislinked.exists()
    # Doctors serve every hub and OPD, with weekly shifts.
    assert DoctorProfile.objects.filter(hubs__isnull=False).count() >= plan.total_hubs
    assert (
        DoctorProfile.objects.filter(opds__isnull=False).distinct().count() == 3 * plan.total_opds
    )
    assert RosterShift.objects.count() >= 6 * DoctorProfile.objects.count()


def test_the_seed_gives_districts_and_spokes_plausible_populations():
    """Each state's people (its share of India's) split over its districts, each spoke a
    catchment in its level's range, hubs none; a figure already set is kept. The equity
    view then ranks per head."""
    from sanjeevani.dashboard import figures
    from sanjeevani.dashboard.seeding.country import CATCHMENT_RANGE, state_populations

    plan = plan_country(small=True)
    kept = District.objects.filter(state__code=plan.states[0]).order_by("name").first()
    District.objects.filter(pk=kept.pk).update(population=1_234_567)  # set in the admin
    seed(20)
    people = state_populations()
    for code in plan.states:
        districts = District.objects.filter(state__code=code)
        assert not districts.filter(population__isnull=True).exists()
        total = sum(districts.exclude(pk=kept.pk).values_list("population", flat=True))
        if code == kept.state.code:
            assert total < people[code]  # its share went to the kept district's synthetic figure
        else:
            assert total == people[code]
        assert all(50_000 < n < 15_000_000 for n in districts.values_list("population", flat=True))
    kept.refresh_from_db()
    assert kept.population == 1_234_567
    spokes = Facility.objects.filter(code__startswith="SN", is_spoke=True)
    for level, (low, high) in CATCHMENT_RANGE.items():
        catchments = list(spokes.filter(level=level).values_list("catchment_population", flat=True))
        assert catchments and all(low <= n <= high for n in catchments), level
        assert len(set(catchments)) > 1  # varied, not one figure
    assert not Facility.objects.filter(is_hub=True, catchment_population__isnull=False).exists()
    ranked = figures.equity(figures.Scope(state_code=plan.states[0]), limit=5)
    assert ranked and all(r.per_100k is not None for r in ranked)


def models_f(name: str):
    from django.db.models import F

    return F(name)


def test_consultations_have_the_configured_shares_and_valid_rows():
    seed()
    consultations = Consultation.objects.all()
    assert consultations.count() == N
    lines = dict(consultations.values_list("service_line").annotate(n=Count("id")))
    assert 0.68 < lines["hub_spoke"] / N < 0.82  # about three quarters
    by_state = dict(consultations.values_list("patient__state__code").annotate(n=Count("id")))
    assert by_state["AP"] > by_state["TN"] > 0  # Andhra Pradesh leads
    outcomes = dict(consultations.values_list("outcome").annotate(n=Count("id")))
    completed = sum(outcomes.get(o, 0) for o in ("prescription", "advice_only", "referred"))
    assert completed / N > 0.75
    assert outcomes.get("no_show", 0) + outcomes.get("dropped", 0) > 0
    assert not consultations.exclude(status="ended").exists()
    # Each consultation has its ticket, moved as the lifecycle moves it.
    assert not consultations.filter(ticket__isnull=True).exists()
    assert not consultations.filter(outcome="no_show").exclude(ticket__status="missed").exists()
    assert (
        not consultations.filter(outcome="prescription")
        .exclude(ticket__status="completed")
        .exists()
    )
    assert Ticket.objects.filter(status="cancelled", consultations__isnull=True).exists()
    assert Prescription.objects.count() == outcomes["prescription"]
    assert not Prescription.objects.exclude(consultation__outcome="prescription").exists()
    # Hub-and-spoke consultations name a hub and a spoke of the same state; OPD ones an OPD.
    hub_spoke = consultations.filter(service_line="hub_spoke")
    assert not hub_spoke.filter(hub__isnull=True).exists()
    assert not hub_spoke.filter(spoke__isnull=True).exists()
    assert not hub_spoke.exclude(hub__state=models_f("spoke__state")).exists()
    assert not consultations.filter(service_line="opd", opd__isnull=True).exists()
    # Times run forward: queued, then started, then ended; patients registered before.
    assert not consultations.filter(ended_at__lt=models_f("created_at")).exists()
    assert not consultations.filter(started_at__gt=models_f("ended_at")).exists()
    assert not Ticket.objects.filter(queued_at__gt=models_f("called_at")).exists()
    assert not consultations.filter(patient__created_at__gt=models_f("created_at")).exists()
    # Patients: about 57% women and 12% seniors (loose bounds at this size).
    patients = Patient.objects.count()
    assert 0.45 < Patient.objects.filter(sex="F").count() / patients < 0.7
    assert 0.04 < Patient.objects.filter(age_years__gte=60).count() / patients < 0.22
    # Every foreign key points at a row (deferred constraints checked now).
    connection.check_constraints()


def test_rollups_agree_with_the_raw_rows():
    from sanjeevani.dashboard.figures import Scope, headline

    seed()
    completed = Consultation.objects.filter(outcome__in=["prescription", "advice_only", "referred"])
    figures = headline(Scope())
    assert figures.consultations_to_date == completed.count()
    assert figures.by_line["hub_spoke"] == completed.filter(service_line="hub_spoke").count()
    assert figures.by_line["opd"] == completed.filter(service_line="opd").count()
    assert figures.patients_served == completed.values("patient").distinct().count()
    assert figures.spokes == plan_country(small=True).total_spokes


def _rollups() -> dict[str, list[tuple]]:
    from sanjeevani.rollups.models import ROLLUP_MODELS

    return {
        model.__name__: sorted(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in ROLLUP_MODELS
    }


@pytest.mark.parametrize("pipelined", [False, True])
def test_rollups_counted_while_generating_equal_a_rebuild(monkeypatch, pipelined):
    """Into an empty database the seed writes the rollups it counted as it generated the
    rows (no rebuild afterwards): every table equals what ``rebuild_rollups`` makes of the
    rows written, over years (patients who return, seniors who turn 60), both lines, every
    ending and cancelled tokens; in bulk mode too (PostgreSQL: the rows made in a child
    process)."""
    from sanjeevani.dashboard.seeding import history

    if pipelined:
        if connection.vendor != "postgresql":
            pytest.skip("the pipelined bulk load is PostgreSQL's")
        monkeypatch.setattr(history, "BULK_FROM", 0)
        monkeypatch.setattr(history, "CHUNK", 300)
    assert "rollups counted while generating" in seed(1500)
    counted = _rollups()
    assert all(counted.values())
    call_command("rebuild_rollups", stdout=io.StringIO(), stderr=io.StringIO())
    rebuilt = _rollups()
    for name in counted:
        assert counted[name] == rebuilt[name], name


def fingerprint() -> list[tuple]:
    return list(
        Consultation.objects.order_by("id").values_list(
            "id", "outcome", "doctor_id", "patient_id", "ended_at"
        )
    )


def test_same_seed_same_data_and_another_seed_differs():
    prints = []
    for seed_value in (5, 5, 6):
        with transaction.atomic():
            seed(60, seed=seed_value, no_rollups=True)
            prints.append(fingerprint())
            transaction.set_rollback(True)
    assert prints[0] == prints[1]
    assert prints[0] != prints[2]


def test_refuses_a_database_with_consultations_unless_appending():
    seed(50, no_rollups=True)
    with pytest.raises(CommandError, match="already has consultations"):
        seed(50, no_rollups=True)
    seed(50, append=True, no_rollups=True)
    assert Consultation.objects.count() == 100
    assert Facility.objects.filter(is_spoke=True).count() == plan_country(small=True).total_spokes
    connection.check_constraints()


def test_refuses_production_settings_without_yes(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="production"):
        call_command("seed_national", consultations=10, small=True, stderr=io.StringIO())
    assert not Consultation.objects.exists()


def _indexes() -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        return {
            model._meta.db_table: set(
                connection.introspection.get_constraints(cursor, model._meta.db_table)
            )
            for model in (Patient, Ticket, Consultation, Prescription)
        }


def test_bulk_mode_puts_every_index_back_and_the_keys_hold(monkeypatch):
    """From ``BULK_FROM`` consultations PostgreSQL drops the secondary indexes and skips the
    foreign-key triggers during the load; afterwards both are as before."""
    from sanjeevani.dashboard.seeding import history

    before = _indexes()
    monkeypatch.setattr(history, "BULK_FROM", 0)
    seed(120, no_rollups=True)
    assert _indexes() == before
    assert Consultation.objects.count() == 120
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
    connection.check_constraints()
