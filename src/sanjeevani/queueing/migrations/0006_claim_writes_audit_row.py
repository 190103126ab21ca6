"""The claim function writes the claim's audit row itself (through the audit app's
``audit_record_event``), and marks the tokens near the front only when asked (``p_near``
> 0): ``queueing.services`` asks at most once a second per OPD and process, because every
concurrent claim would otherwise lock and mark the same few rows at the front.

Replaces migration 0005's function (a new signature); see that migration for why the claim
is a function at all.
"""

from django.db import migrations

from sanjeevani.queueing.sql import InstallSQL


class Migration(migrations.Migration):
    dependencies = [
        ("queueing", "0005_claim_function"),
        ("audit", "0002_record_event_function"),
    ]

    operations = [InstallSQL("claim_next_ticket", 2, reverse_version=1)]
