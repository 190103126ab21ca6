"""``audit_record_event``: the audit row as a PostgreSQL function, for services whose change
is itself one database function (``queueing_claim_next_ticket``), so that the row is written
in the same round trip instead of a second ORM insert. The audit app owns its table, so the
other apps' SQL calls this function rather than naming the table's columns.

It writes what ``sanjeevani.audit.services.record_event`` writes; the actor's label and role
come from ``audit.services.actor_fields``. Change both together, in a new migration.
"""

from django.db import migrations

CREATE = r"""
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

DROP = (
    "DROP FUNCTION IF EXISTS audit_record_event"
    "(uuid, text, text, text, text, text, uuid, jsonb, timestamptz)"
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
