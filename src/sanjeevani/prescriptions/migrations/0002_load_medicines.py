from django.db import migrations


def load(apps, schema_editor):
    from sanjeevani.prescriptions.catalogue import load_catalogue

    load_catalogue(apps.get_model("prescriptions", "Medicine"))


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
