-- signature: queueing_claim_next_ticket(uuid, uuid[], timestamptz, timestamptz, integer, uuid, text, text, jsonb)
CREATE OR REPLACE FUNCTION queueing_claim_next_ticket(
    p_doctor uuid, p_queues uuid[], p_now timestamptz, p_expires timestamptz, p_near integer,
    p_actor uuid, p_actor_label text, p_actor_role text, p_detail jsonb)
RETURNS TABLE (ticket queueing_ticket, near_turn json, doctors_online integer,
               doctors_busy integer)
LANGUAGE plpgsql AS $$
-- Mark the doctor busy (one doctor's two clicks never claim two tickets); take the first
-- waiting ticket this doctor may take from the queues p_queues in their order (NULL: the
-- queue they are online for), by priority and arrival within a queue, skipping rows other
-- claims hold; write the ticket.claim audit row; when p_near > 0, mark the tokens now near
-- the front of that queue (and return whom to text); count its doctors for the queue
-- event. No row when the doctor is not free, not online for one of the queues, or nobody
-- waits in any.
DECLARE
    v_presence queueing_doctorpresence%ROWTYPE;
    v_queues uuid[];
    v_queue uuid;
    v_ticket queueing_ticket;
    v_front uuid[];
BEGIN
    -- Mark the doctor busy first: the update locks their row, so one doctor's two clicks
    -- never claim two tickets (the second finds them busy), and it is the only write to
    -- the row on a claim; when nobody waits it is put back as it was.
    SELECT p.* INTO v_presence
      FROM queueing_doctorpresence p
     WHERE p.doctor_id = p_doctor AND p.status IN ('available', 'on_break')
       AND p.queue_id IS NOT NULL AND (p_queues IS NULL OR p.queue_id = ANY (p_queues));
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE queueing_doctorpresence p
       SET status = 'busy', last_seen = p_now, since = p_now
     WHERE p.id = v_presence.id AND p.status IN ('available', 'on_break')
       AND p.queue_id IS NOT DISTINCT FROM v_presence.queue_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_queues := COALESCE(p_queues, ARRAY[v_presence.queue_id]);

    -- One queue at a time, in the list's order, so that each look-up walks that queue's
    -- index of waiting tickets from its front.
    FOREACH v_queue IN ARRAY v_queues LOOP
        UPDATE queueing_ticket q
           SET status = 'called', claimed_by_id = p_doctor, called_at = p_now,
               call_expires_at = p_expires, updated_at = p_now
         WHERE q.status = 'waiting' AND q.id = (
               SELECT t.id FROM queueing_ticket t
                WHERE t.queue_id = v_queue AND t.status = 'waiting'
                  AND (t.preferred_doctor_id IS NULL OR t.preferred_doctor_id = p_doctor
                       OR NOT EXISTS (
                           SELECT 1 FROM queueing_doctorpresence o
                            WHERE o.doctor_id = t.preferred_doctor_id
                              AND o.queue_id = t.queue_id
                              AND o.status IN ('available', 'busy', 'on_break')))
                ORDER BY t.priority, t.queued_at
                LIMIT 1
                  FOR UPDATE SKIP LOCKED)
        RETURNING q.* INTO v_ticket;
        EXIT WHEN FOUND;
    END LOOP;
    IF v_ticket.id IS NULL THEN
        UPDATE queueing_doctorpresence
           SET status = v_presence.status, last_seen = v_presence.last_seen,
               since = v_presence.since
         WHERE id = v_presence.id;
        RETURN;
    END IF;

    PERFORM audit_record_event(
        p_actor, p_actor_label, p_actor_role, 'ticket.claim', 'queueing.ticket',
        v_ticket.id::text, v_ticket.patient_id,
        jsonb_build_object('opd', v_ticket.opd_id::text, 'queue', v_queue::text) || p_detail,
        p_now);

    IF p_near > 0 THEN
        -- The front as an array, so that the marking below looks rows up by key whatever
        -- the plan cache assumes about p_near.
        SELECT array_agg(f.id) INTO v_front FROM (
            SELECT id FROM queueing_ticket
             WHERE queue_id = v_queue AND status = 'waiting'
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
                                         pt.preferred_language,
                                         COALESCE(o.name, w.label)))
          INTO near_turn
          FROM marked
          JOIN patients_patient pt ON pt.id = marked.patient_id
          LEFT JOIN accounts_user a ON a.id = pt.account_id
          JOIN queueing_queue w ON w.id = v_queue
          LEFT JOIN registry_onlineopd o ON o.id = w.opd_id;
    END IF;

    SELECT count(*) FILTER (WHERE s.status IN ('available', 'busy')),
           count(*) FILTER (WHERE s.status = 'busy')
      INTO doctors_online, doctors_busy
      FROM queueing_doctorpresence s
     WHERE s.queue_id = v_queue;

    ticket := v_ticket;
    RETURN NEXT;
END
$$;
