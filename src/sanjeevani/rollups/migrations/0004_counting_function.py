"""PostgreSQL: ``rollups_count_token(uuid)``, the token's counting statement as a function,
which ``hwc_send_case`` v3 calls so that a case's sending is one statement. A later change
of the facts or grains adds a migration that runs ``install_counting_functions`` again."""

from django.db import migrations

from sanjeevani.rollups.services import COUNTING_FUNCTIONS, counting_function_sql


def install_counting_functions(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for kind in COUNTING_FUNCTIONS:
        schema_editor.execute(counting_function_sql(kind))


def drop_counting_functions(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COUNTING_FUNCTIONS.values():
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}(uuid)")


class Migration(migrations.Migration):
    dependencies = [("rollups", "0003_spoke_day_covering")]

    operations = [migrations.RunPython(install_counting_functions, drop_counting_functions)]
