-- Retention of the work-order mirror (docs/storage.md, "Retention"): the row of a deleted work
-- order goes RETENTION_DAYS after its deletion (src/store/retention.ts). The deleted rows by
-- their deletion time, and only those: the scheduled run finds them without reading the mirror,
-- and a work order that is not deleted costs no entry (D1 bills every index entry written as a
-- row written).
CREATE INDEX work_orders_deleted ON work_orders (deleted_at) WHERE deleted = 1;
