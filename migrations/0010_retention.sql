-- Retention of unfinished work (docs/storage.md, "Retention"). A `failed` or `dead` event is kept
-- FAILED_RETENTION_DAYS after its last change (`updated_at`), and deleted only a week after a
-- final operator alert was sent naming it (src/store/retention.ts; an alert the channel refused
-- is logged and counts as sent).
-- `expiry_notice_at`: when that alert went. It concerns the event as it was then: when the event
-- changes later (`updated_at` after it), the notice no longer counts and a new one is needed.
ALTER TABLE events ADD COLUMN expiry_notice_at TEXT;

-- The failed and dead events by their last change, and only those: the notice and the deletion
-- take the oldest of them without reading the processed rest of the log. Partial, so a processed
-- event costs no entry in it (D1 bills every index entry written as a row written).
CREATE INDEX events_unfinished ON events (updated_at) WHERE status IN ('failed', 'dead');
