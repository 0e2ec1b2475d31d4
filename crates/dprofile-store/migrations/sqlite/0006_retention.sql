-- Retention (issue 4): the persons whose data the retention schedule erased entirely, and when.
-- The access log's entries about such a person keep their details (who looked, why) for a
-- while after the data is gone, then those details are erased too (their leaf hashes stay);
-- this table says when each person's data went, and whether the log details followed.
CREATE TABLE retention_erasures (
    person_id INTEGER PRIMARY KEY,
    erased_at INTEGER NOT NULL,
    log_details_erased_at INTEGER
);
CREATE INDEX retention_erasures_pending ON retention_erasures (erased_at)
    WHERE log_details_erased_at IS NULL;

-- Erasing a key finds what cites its versions (and the quarantined lines replayed into them,
-- copies of the same data), and removing a person the persons merged into it, by index
-- rather than by scanning the tables.
CREATE INDEX review_items_record ON review_items (record_id) WHERE record_id IS NOT NULL;
CREATE INDEX quarantine_resolved_record ON quarantine (resolved_record_id)
    WHERE resolved_record_id IS NOT NULL;
CREATE INDEX link_decisions_record ON link_decisions (record_id) WHERE record_id IS NOT NULL;
CREATE INDEX persons_merged_into ON persons (merged_into) WHERE merged_into IS NOT NULL;
