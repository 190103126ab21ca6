import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0003_doctor_signature_quantity"),
    ]

    operations = [
        migrations.CreateModel(
            name="PrescriptionDocument",
            fields=[
                (
                    "prescription",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="document",
                        serialize=False,
                        to="prescriptions.prescription",
                    ),
                ),
                ("pdf", models.BinaryField()),
                (
                    "rendered_for_status",
                    models.CharField(
                        choices=[("issued", "Issued"), ("superseded", "Superseded")],
                        max_length=10,
                    ),
                ),
                ("rendered_at", models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
