"""The claim function marks the doctor busy with one update of their presence row (it
locks the row as well), instead of locking it and then updating it: the lock was a second
write of the row on every claim. When nobody waits the row is put back as it was. Same
signature and rules as migration 0006 (``queueing/sql/claim_next_ticket/v3.sql``).
"""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [("queueing", "0009_presence_fillfactor")]

    operations = [InstallSQL("claim_next_ticket", 3, reverse_version=2)]
