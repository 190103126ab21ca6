-- signature: hwc_send_case(uuid, date, jsonb, jsonb, jsonb, jsonb)
CREATE OR REPLACE FUNCTION hwc_send_case(
    p_spoke uuid, p_service_date date, p_ticket jsonb, p_case jsonb,
    p_ticket_audit jsonb, p_case_audit jsonb)
RETURNS TABLE (token_number integer, refused_by text)
LANGUAGE plpgsql AS $$
-- A case from spoke p_spoke joins its queue: the spoke's next token number for the day
-- (counted under a lock on the spoke's row), the case, its ticket and their two audit rows.
-- v3: the ticket is counted in the rollups here (rollups_count_token, the statement
-- rollups.services runs elsewhere), so the caller sends the case as one statement in
-- autocommit, with no transaction block and no second round trip.
-- v2: the case is written before its ticket (the foreign key is checked at commit), so the
-- same draft sent again meets the case's unique client_key first, not the patient's one
-- live ticket, and the caller needs no probe for it beforehand.
-- Every row comes whole from the caller (jsonb documents of the tables' columns, made
-- from the models), so a column added to a model needs no change here. One round trip
-- with its plans kept per connection: every case sent pays it. A unique constraint that
-- refuses the ticket or the case is returned by name (nothing written) for the caller
-- to explain.
DECLARE
    v_number integer;
    v_constraint text;
BEGIN
    PERFORM 1 FROM registry_facility WHERE id = p_spoke FOR UPDATE;
    SELECT COALESCE(MAX(t.token_number), 0) + 1 INTO v_number
      FROM queueing_ticket t
     WHERE t.spoke_id = p_spoke AND t.service_date = p_service_date;
    BEGIN
        INSERT INTO hwc_case
        SELECT (jsonb_populate_record(NULL::hwc_case, p_case)).*;
        INSERT INTO queueing_ticket
        SELECT (jsonb_populate_record(NULL::queueing_ticket,
                                      p_ticket || jsonb_build_object('token_number', v_number))).*;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        RETURN QUERY SELECT NULL::integer, v_constraint;
        RETURN;
    END;
    INSERT INTO audit_auditevent
    SELECT (jsonb_populate_record(
        NULL::audit_auditevent,
        jsonb_set(p_ticket_audit, '{detail,token}', to_jsonb(v_number)))).*;
    INSERT INTO audit_auditevent
    SELECT (jsonb_populate_record(NULL::audit_auditevent, p_case_audit)).*;
    PERFORM rollups_count_token((p_ticket->>'id')::uuid);
    RETURN QUERY SELECT v_number, NULL::text;
END
$$;
