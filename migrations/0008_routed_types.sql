-- The event listing's type filter finds an event by the change type it was routed as, too: a
-- webhook's status change to DONE is logged as `workorder.status_changed` and routed as
-- `workorder.completed` (or `.canceled`, `.skipped`; ARCHITECTURE.md, "Once per real change").
-- `routed_type` is that ending type, for webhook and poll events alike; NULL for every other event.
ALTER TABLE events ADD COLUMN routed_type TEXT;

-- Rows logged before: the poller's endings by their type, a webhook's by the ending it resolved
-- to (a status change whose ending no handler claimed per change is not known here).
UPDATE events SET routed_type = type
  WHERE type IN ('workorder.completed', 'workorder.canceled', 'workorder.skipped');
UPDATE events SET routed_type = (
    SELECT CASE c.kind WHEN 'DONE' THEN 'workorder.completed' WHEN 'CANCELED' THEN 'workorder.canceled'
                       WHEN 'SKIPPED' THEN 'workorder.skipped' END
    FROM event_changes c WHERE c.event_id = events.id)
  WHERE type = 'workorder.status_changed';

-- As 0005's: ascending on received_at after the filter columns, so the listing needs no sort.
-- `status` + `type` (the bulk replay of one kind's failed or dead events) reads only its rows.
CREATE INDEX events_by_routed_type ON events (routed_type, received_at) WHERE routed_type IS NOT NULL;
CREATE INDEX events_by_status_type ON events (status, type, received_at);
CREATE INDEX events_by_status_routed_type ON events (status, routed_type, received_at)
  WHERE routed_type IS NOT NULL;
