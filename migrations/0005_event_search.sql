-- Searching and paging the event log (README, "Operator API"; ARCHITECTURE.md, "Listing events").
-- `subject` is the canonical event's subject as `<kind>:<id>` (`workorder:4821337`, `asset:9`);
-- `summary` one line about the event from its data (`#4821337 Replace pump seal`, an asset's
-- name). Both are written with the row (src/store/event-log.ts), so that a listing never reads
-- `data`, which can be 1 MB a row.
ALTER TABLE events ADD COLUMN subject TEXT;
ALTER TABLE events ADD COLUMN summary TEXT;

-- Pages are ordered `received_at DESC, rowid DESC`. An index keeps its rows in key order followed
-- by the rowid, so an ascending index read backwards yields exactly that order with no sort step;
-- the DESC indexes of 0001 needed one for the rowid. Every filter has an index led by its column.
DROP INDEX events_by_received;
DROP INDEX events_by_status;
DROP INDEX events_by_type;
CREATE INDEX events_by_received ON events (received_at);
CREATE INDEX events_by_status ON events (status, received_at);
CREATE INDEX events_by_type ON events (type, received_at);
CREATE INDEX events_by_work_order ON events (work_order_id, received_at);
CREATE INDEX events_by_subject ON events (subject, received_at);

-- Backfill of the rows logged before this migration, as src/events/summary.ts would have written
-- them. Each statement only fills what is still NULL, so it can be run again.

-- A work order's events: their subject is their work order.
UPDATE events SET subject = 'workorder:' || work_order_id WHERE subject IS NULL AND work_order_id IS NOT NULL;

-- The other MaintainX types name their subject in a field of the flat body (src/events/maintainx-types.ts).
-- An id is a JSON integer, or a string of 1 to 200 characters once trimmed.
WITH kinds (source_type, kind, field) AS (
  VALUES
    ('NEW_WORK_REQUEST', 'workrequest', 'workRequestId'),
    ('WORK_REQUEST_STATUS_CHANGE', 'workrequest', 'requestId'),
    ('NEW_ASSET', 'asset', 'assetId'),
    ('ASSET_STATUS_CHANGE', 'asset', 'assetId'),
    ('NEW_PART', 'part', 'partId'),
    ('PART_CHANGE', 'part', 'partId'),
    ('PART_DELETE', 'part', 'partId'),
    ('PART_QUANTITY_CHANGE', 'part', 'partId'),
    ('NEW_PURCHASE_ORDER', 'purchaseorder', 'purchaseOrderId'),
    ('PURCHASE_ORDER_CHANGE', 'purchaseorder', 'purchaseOrderId'),
    ('PURCHASE_ORDER_STATUS_CHANGE', 'purchaseorder', 'purchaseOrderId'),
    ('NEW_LOCATION', 'location', 'locationId'),
    ('NEW_VENDOR', 'vendor', 'vendorId'),
    ('METER_TRIGGER_STATE_CHANGE', 'meter', 'meterId')
),
named AS (
  SELECT e.rowid AS row_id, k.kind,
    CASE json_type(e.data, '$.' || k.field)
      WHEN 'integer' THEN CAST(json_extract(e.data, '$.' || k.field) AS TEXT)
      WHEN 'text' THEN trim(json_extract(e.data, '$.' || k.field))
    END AS id
  FROM events AS e JOIN kinds AS k ON k.source_type = e.source_type
  WHERE e.subject IS NULL AND e.data_field IS NULL AND json_valid(e.data)
)
UPDATE events SET subject = named.kind || ':' || named.id
FROM named
WHERE events.rowid = named.row_id AND named.id <> '' AND length(named.id) <= 200;

-- A work order's summary: `#<id>`, then its title when the payload has one, from the first of
-- `newWorkOrder`, `WorkOrder`, `workOrder` that is an object, else (polled work orders and seed
-- bodies) the data itself; a seed envelope's data is its `data_field` member. Line breaks and tabs
-- become spaces, and a line over 120 characters is cut and ends in `…`, as src/events/summary.ts
-- does (which also joins runs of spaces into one). Other types keep no summary from before.
WITH located AS (
  SELECT rowid AS row_id, work_order_id, data,
    CASE WHEN data_field IS NULL THEN '$' ELSE '$."' || data_field || '"' END AS root,
    (source = 'poll' OR instr(source_type, '.') > 0) AS data_is_entity
  FROM events
  WHERE summary IS NULL AND work_order_id IS NOT NULL AND json_valid(data)
),
entities AS (
  SELECT row_id, work_order_id, data,
    CASE
      WHEN json_type(data, root || '.newWorkOrder') = 'object' THEN root || '.newWorkOrder'
      WHEN json_type(data, root || '.WorkOrder') = 'object' THEN root || '.WorkOrder'
      WHEN json_type(data, root || '.workOrder') = 'object' THEN root || '.workOrder'
      WHEN data_is_entity THEN root
    END AS entity
  FROM located
),
lines AS (
  SELECT row_id,
    '#' || work_order_id || coalesce(' ' || nullif(trim(replace(replace(replace(
      CASE WHEN json_type(data, entity || '.title') = 'text' THEN json_extract(data, entity || '.title') END,
      char(13), ' '), char(10), ' '), char(9), ' ')), ''), '') AS line
  FROM entities
)
UPDATE events
SET summary = CASE WHEN length(lines.line) > 120 THEN rtrim(substr(lines.line, 1, 120)) || '…' ELSE lines.line END
FROM lines
WHERE events.rowid = lines.row_id;

-- A work order's row whose data is not JSON (never written so) still shows its id.
UPDATE events SET summary = '#' || work_order_id WHERE summary IS NULL AND work_order_id IS NOT NULL;
