"""A queue of its own: one row per line of patients. Every OPD gets its queue, and its
tickets and the doctors online for it join that queue (a hub's tickets, its queue for
their specialty). Migration 0012 then makes a ticket's queue required."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


def queue_per_opd(apps, schema_editor) -> None:
    OnlineOPD = apps.get_model("registry", "OnlineOPD")
    Queue = apps.get_model("queueing", "Queue")
    Ticket = apps.get_model("queueing", "Ticket")
    DoctorPresence = apps.get_model("queueing", "DoctorPresence")
    for opd in OnlineOPD.objects.all():
        queue, _ = Queue.objects.get_or_create(
            opd=opd,
            defaults={
                "kind": "opd",
                "label": opd.name[:200],
                "state_id": opd.state_id,
                "specialty_id": opd.specialty_id,
            },
        )
        Ticket.objects.filter(opd=opd).update(queue=queue)
        DoctorPresence.objects.filter(opd=opd).update(queue=queue)
    hub_lines = (
        Ticket.objects.filter(hub__isnull=False, specialty__isnull=False)
        .values_list("hub_id", "specialty_id")
        .distinct()
    )
    Facility = apps.get_model("registry", "Facility")
    for hub_id, specialty_id in list(hub_lines):
        hub = Facility.objects.get(pk=hub_id)
        queue, _ = Queue.objects.get_or_create(
            kind="hub_specialty",
            hub_id=hub_id,
            specialty_id=specialty_id,
            defaults={"label": hub.name[:200], "state_id": hub.state_id},
        )
        Ticket.objects.filter(hub_id=hub_id, specialty_id=specialty_id).update(queue=queue)


class Migration(migrations.Migration):

    dependencies = [
        ('consultations', '0004_observed_mode'),
        ('patients', '0003_patient_address'),
        ('queueing', '0010_claim_marks_doctor_busy_once'),
        ('registry', '0003_doctor_contact'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Queue',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('opd', 'Online OPD'), ('hub_specialty', 'Hub, one specialty'), ('state_overflow', 'State-wide overflow, one specialty')], max_length=16)),
                ('label', models.CharField(max_length=200, verbose_name='label')),
                ('hub', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='queues', to='registry.facility')),
                ('opd', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='queue', to='registry.onlineopd')),
                ('specialty', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='queues', to='registry.specialty')),
                ('state', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='queues', to='registry.state')),
            ],
        ),
        migrations.AddField(
            model_name='doctorpresence',
            name='queue',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='presences', to='queueing.queue'),
        ),
        migrations.AddField(
            model_name='ticket',
            name='queue',
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='queueing.queue'),
        ),
        migrations.RunPython(queue_per_opd, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('hub__isnull', True), ('kind', 'opd'), ('opd__isnull', False)), models.Q(('hub__isnull', False), ('kind', 'hub_specialty'), ('opd__isnull', True), ('specialty__isnull', False)), models.Q(('hub__isnull', True), ('kind', 'state_overflow'), ('opd__isnull', True), ('specialty__isnull', False), ('state__isnull', False)), _connector='OR'), name='queue_kind_has_its_references'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'hub_specialty')), fields=('hub', 'specialty'), name='one_queue_per_hub_specialty'),
        ),
        migrations.AddConstraint(
            model_name='queue',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'state_overflow')), fields=('state', 'specialty'), name='one_overflow_queue_per_state_specialty'),
        ),
    ]
