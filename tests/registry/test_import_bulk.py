"""The import at national size, scaled down: a generated file of a few hundred spokes and
their hub links loads in one run (bulk writes), checked first, all or nothing; a second
load updates; the command takes more rows than an upload; progress goes to stderr."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sanjeevani.registry.importing import MAX_ROWS, import_registry_csv
from sanjeevani.registry.importing.sample import registry_csv
from sanjeevani.registry.models import Facility, HubSpokeLink, Specialty

pytestmark = pytest.mark.django_db
SPOKES = {"AP": 150, "TN": 90}
HUBS = {"AP": 20, "TN": 12}


def sample_file(tmp_path, text: str):
    path = tmp_path / "registry.csv"
    path.write_text(text, encoding="utf-8")
    return path


def run(path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_registry", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_generated_file_loads_every_facility_and_link_with_progress(tmp_path):
    text = registry_csv(SPOKES, HUBS)
    links = sum(1 for line in text.splitlines() if line.startswith("link,"))
    out, err = run(sample_file(tmp_path, text))
    assert Facility.objects.filter(is_spoke=True).count() == 240
    assert Facility.objects.filter(is_hub=True).count() == 32
    assert HubSpokeLink.objects.count() == links
    assert f"{links} links created" in out
    assert "checked" in err and "links created" in err  # progress on stderr
    # Each spoke has one or two hubs, each link the specialties of its row.
    per_spoke = {
        spoke: HubSpokeLink.objects.filter(spoke__code=spoke).count()
        for spoke in ("RF-AP-S000001", "RF-TN-S000090")
    }
    assert set(per_spoke.values()) <= {1, 2} and all(per_spoke.values())
    link = HubSpokeLink.objects.filter(hub__code="RF-AP-H00001").first()
    assert set(link.specialties.values_list("code", flat=True)) == {"general-medicine", "obg"}
    assert link.hub.district is not None and link.hub.district == link.spoke.district


def test_loading_again_updates_links_and_replaces_their_specialties(tmp_path):
    run(sample_file(tmp_path, registry_csv(SPOKES, HUBS)))
    before = HubSpokeLink.objects.count()
    text = registry_csv(SPOKES, HUBS).replace("general-medicine;obg,", "ent,")
    out, _err = run(sample_file(tmp_path, text))
    assert "facilities updated" in out and "links updated" in out
    assert HubSpokeLink.objects.count() == before
    assert Facility.objects.count() == 272
    link = HubSpokeLink.objects.filter(hub__code="RF-AP-H00001").first()
    assert list(link.specialties.values_list("code", flat=True)) == ["ent"]


def test_bad_rows_in_a_large_file_are_each_reported_and_nothing_is_written(tmp_path):
    lines = registry_csv(SPOKES, HUBS).splitlines()
    bad_spoke = next(i for i, line in enumerate(lines) if ",RF-TN-S000007," in line)
    lines[bad_spoke] = lines[bad_spoke].replace(",TN,", ",XX,")
    bad_link = len(lines) - 1
    lines[bad_link] = lines[bad_link].replace("RF-", "NOPE-", 1)
    lines.append(lines[-2])  # the same link twice
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 problem"):
        call_command("import_registry", str(sample_file(tmp_path, "\n".join(lines))), stderr=err)
    report = err.getvalue()
    assert f"line {bad_spoke + 1}:" in report and "XX" in report
    assert f"line {bad_link + 1}:" in report and "not a known facility" in report
    assert f"line {len(lines)}:" in report and "appears again" in report
    assert not Facility.objects.exists()
    assert not HubSpokeLink.objects.exists()


def test_the_command_takes_more_rows_than_an_upload(tmp_path):
    spokes = {"UP": MAX_ROWS}  # facility rows alone pass the upload's limit
    text = registry_csv(spokes, {"UP": 40})
    assert (
        import_registry_csv(text, None, dry_run=True)
        .errors[0]
        .message.startswith("the file has more than")
    )
    out, _err = run(sample_file(tmp_path, text), "--check")
    assert "The file is valid" in out and f"{MAX_ROWS + 40} facilities" in out
    assert not Facility.objects.exists()
    assert Specialty.objects.filter(code="general-medicine").exists()
