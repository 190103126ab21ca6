"""The request id on each audit row; ``audit_record_event`` (the database functions' way to
write one, migration 0002) takes it from ``p_detail``'s ``request_id`` key, which callers
such as the claim add (``queueing.claim.claim_in_function``), and keeps it out of the
detail. Same signature, so the functions that call it need no change."""

from django.db import migrations, models

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_record_event(
    p_actor uuid, p_actor_label text, p_actor_role text, p_action text,
    p_object_type text, p_object_id text, p_patient uuid, p_detail jsonb, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_auditevent (id, at, actor_id, actor_label, actor_role, action,
                                  object_type, object_id, patient_id, client_ip,
                                  user_agent, detail, request_id)
    VALUES (gen_random_uuid(), p_at, p_actor, p_actor_label, p_actor_role, p_action,
            p_object_type, p_object_id, p_patient, NULL, '', p_detail - 'request_id',
            COALESCE(p_detail ->> 'request_id', ''));
END
$$;
"""

#: Migration 0002's body, restored when this migration is reversed.
PREVIOUS = r"""
CREATE OR REPLACE FUNCTION audit_record_event(
    p_actor uuid, p_actor_label text, p_actor_role text, p_action text,
    p_object_type text, p_object_id text, p_patient uuid, p_detail jsonb, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_auditevent (id, at, actor_id, actor_label, actor_role, action,
                                  object_type, object_id, patient_id, client_ip,
                                  user_agent, detail)
    VALUES (gen_random_uuid(), p_at, p_actor, p_actor_label, p_actor_role, p_action,
            p_object_type, p_object_id, p_patient, NULL, '', p_detail);
END
$$;
"""


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def restore(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_patient_lookup_through_composite_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="request_id",
            field=models.CharField(
                blank=True, db_default="", max_length=64, verbose_name="request id"
            ),
        ),
        migrations.RunPython(create, restore, elidable=False),
    ]
