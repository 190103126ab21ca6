"""PostgreSQL: ``rollups_count_token(uuid)``, the token's counting statement as a function,
which ``hwc_send_case`` v3 calls so that a case's sending is one statement."""

from django.db import migrations

from sanjeevani.rollups.counting_functions import (
    drop_counting_functions,
    install_counting_functions,
)


class Migration(migrations.Migration):
    dependencies = [("rollups", "0003_spoke_day_covering")]

    operations = [migrations.RunPython(install_counting_functions, drop_counting_functions)]
