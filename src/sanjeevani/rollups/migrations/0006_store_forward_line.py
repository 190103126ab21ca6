"""Store and forward counted as its own service line (``facts._line``): the counting
function is installed again with the new statement. Rows counted before this migration
keep such cases under hub and spoke until ``manage.py rebuild_rollups`` is run."""

from django.db import migrations

from sanjeevani.rollups.counting_functions import install_counting_functions


class Migration(migrations.Migration):
    dependencies = [("rollups", "0005_doctor_day_place"), ("hwc", "0005_send_case_counts_rollups")]

    operations = [migrations.RunPython(install_counting_functions, migrations.RunPython.noop)]
