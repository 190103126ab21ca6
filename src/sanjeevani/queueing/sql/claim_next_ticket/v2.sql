-- signature: queueing_claim_next_ticket(uuid, uuid, timestamptz, timestamptz, integer, uuid, text, text, jsonb)
CREATE OR REPLACE FUNCTION queueing_claim_next_ticket(
    p_doctor uuid, p_opd uuid, p_now timestamptz, p_expires timestamptz, p_near integer,
    p_actor uuid, p_actor_label text, p_actor_role text, p_detail jsonb)
RETURNS TABLE (ticket queueing_ticket, near_turn json, doctors_online integer,
               doctors_busy integer)
LANGUAGE plpgsql AS $$
-- Lock the doctor's presence (one doctor's two clicks never claim two tickets); take the
-- first waiting ticket this doctor may take, skipping rows other claims hold; mark the
-- doctor busy; write the ticket.claim audit row; when p_near > 0, mark the tokens now near
-- the front (and return whom to text); count the OPD's doctors for the queue event. No row
-- when the doctor is not free or nobody waits.
DECLARE
    v_presence queueing_doctorpresence.id%TYPE;
    v_opd uuid;
    v_ticket queueing_ticket;
    v_front uuid[];
BEGIN
    SELECT p.id, p.opd_id INTO v_presence, v_opd
      FROM queueing_doctorpresence p
     WHERE p.doctor_id = p_doctor AND p.status IN ('available', 'on_break')
       AND p.opd_id IS NOT NULL AND (p_opd IS NULL OR p.opd_id = p_opd)
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    UPDATE queueing_ticket q
       SET status = 'called', claimed_by_id = p_doctor, called_at = p_now,
           call_expires_at = p_expires, updated_at = p_now
     WHERE q.status = 'waiting' AND q.id = (
           SELECT t.id FROM queueing_ticket t
            WHERE t.opd_id = v_opd AND t.status = 'waiting'
              AND (t.preferred_doctor_id IS NULL OR t.preferred_doctor_id = p_doctor
                   OR NOT EXISTS (
                       SELECT 1 FROM queueing_doctorpresence o
                        WHERE o.doctor_id = t.preferred_doctor_id AND o.opd_id = t.opd_id
                          AND o.status IN ('available', 'busy', 'on_break')))
            ORDER BY t.priority, t.queued_at
            LIMIT 1
              FOR UPDATE SKIP LOCKED)
    RETURNING q.* INTO v_ticket;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    UPDATE queueing_doctorpresence
       SET status = 'busy', last_seen = p_now, since = p_now
     WHERE id = v_presence;

    PERFORM audit_record_event(
        p_actor, p_actor_label, p_actor_role, 'ticket.claim', 'queueing.ticket',
        v_ticket.id::text, v_ticket.patient_id,
        jsonb_build_object('opd', v_opd::text) || p_detail, p_now);

    IF p_near > 0 THEN
        -- The front as an array, so that the marking below looks rows up by key whatever
        -- the plan cache assumes about p_near.
        SELECT array_agg(f.id) INTO v_front FROM (
            SELECT id FROM queueing_ticket
             WHERE opd_id = v_opd AND status = 'waiting'
             ORDER BY priority, queued_at
             LIMIT p_near) f;
    END IF;
    IF v_front IS NOT NULL THEN
        WITH due AS (
            SELECT d.id FROM queueing_ticket d
             WHERE d.id = ANY (v_front) AND NOT d.near_turn_notified AND d.status = 'waiting'
               FOR UPDATE SKIP LOCKED),
        marked AS (
            UPDATE queueing_ticket m SET near_turn_notified = true
              FROM due WHERE m.id = due.id
            RETURNING m.token_number, m.patient_id)
        SELECT json_agg(json_build_array(marked.token_number, a.mobile,
                                         pt.preferred_language, o.name))
          INTO near_turn
          FROM marked
          JOIN patients_patient pt ON pt.id = marked.patient_id
          LEFT JOIN accounts_user a ON a.id = pt.account_id
          JOIN registry_onlineopd o ON o.id = v_opd;
    END IF;

    SELECT count(*) FILTER (WHERE s.status IN ('available', 'busy')),
           count(*) FILTER (WHERE s.status = 'busy')
      INTO doctors_online, doctors_busy
      FROM queueing_doctorpresence s
     WHERE s.opd_id = v_opd;

    ticket := v_ticket;
    RETURN NEXT;
END
$$;
