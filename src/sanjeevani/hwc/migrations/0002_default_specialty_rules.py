"""The rule table the platform ships with (``hwc.complaints.DEFAULT_RULES``); lines whose
specialty is not in the registry are left out. Administrators edit it afterwards."""

from django.db import migrations


def add_rules(apps, schema_editor):
    from sanjeevani.hwc.complaints import DEFAULT_RULES

    Rule = apps.get_model("hwc", "SpecialtyRule")
    Specialty = apps.get_model("registry", "Specialty")
    specialties = dict(Specialty.objects.values_list("code", "pk"))
    Rule.objects.bulk_create(
        Rule(
            complaint=complaint,
            vital=vital,
            comparison=comparison,
            threshold=threshold,
            min_age_years=min_age,
            max_age_years=max_age,
            specialty_id=specialties[code],
            weight=weight,
            reason=reason,
        )
        for complaint, vital, comparison, threshold, min_age, max_age, code, weight, reason in (
            DEFAULT_RULES
        )
        if code in specialties
    )


class Migration(migrations.Migration):
    dependencies = [("hwc", "0001_initial"), ("registry", "0002_reference_data")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
