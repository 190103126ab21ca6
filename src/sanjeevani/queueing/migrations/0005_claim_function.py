"""The claim of the next ticket as a PostgreSQL function (``queueing.services`` calls it).

A function's statements are parsed and planned once per connection and then run from
PL/pgSQL's plan cache; the same work sent as one big statement was parsed and planned on
every claim, which cost more than running it (bench/queue_claim.py: 1.5 ms against 0.9 ms
a claim, one doctor). SQLite claims through the ORM in ``queueing.claim``.

The function returns the claimed row as the table's own row type, so it follows the table
when columns are added. Its body is ``queueing/sql/claim_next_ticket/v1.sql``; a change
of the rules is a new version file, installed by a new migration.
"""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0004_ticket_follow_up_of"),
        ("patients", "0002_patient_document"),
        ("accounts", "0002_alter_user_managers"),
        ("registry", "0002_reference_data"),
    ]

    operations = [InstallSQL("claim_next_ticket", 1)]
