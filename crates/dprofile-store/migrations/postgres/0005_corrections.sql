-- The person's correction requests (issue 4): one row per request, citing one stored version
-- (`record_id`) of one key (`key_id`), routed to the queue of the agency that wrote it
-- (`source`). `status` is the agency's answer: open, accepted or rejected; "overdue" is not
-- stored, it is an open request past `due_at` at the time of reading.
CREATE TABLE corrections (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    revision INTEGER NOT NULL,
    category TEXT,
    -- JSON array of the disputed fields, as pointers into the record (`/data/balance`).
    fields TEXT NOT NULL,
    explanation TEXT NOT NULL,
    filed_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    answer TEXT,
    answered_by TEXT,
    answered_at TIMESTAMPTZ
);
CREATE INDEX corrections_queue ON corrections (source, id);
CREATE INDEX corrections_person ON corrections (person_id, id);
-- Disputes still standing (the marker on a profile's facts is found through the person's keys).
CREATE INDEX corrections_standing ON corrections (key_id) WHERE status IN ('open', 'accepted');

-- The fields a standing request disputes, one row each: the primary key is the rule "one
-- request per record and field" written so that two concurrent filings cannot both pass.
-- A rejected request gives its fields back; an accepted one keeps them until the record is
-- superseded (a new version has a new record id, so it can be disputed afresh).
CREATE TABLE correction_fields (
    record_id BIGINT NOT NULL,
    field TEXT NOT NULL,
    correction_id BIGINT NOT NULL,
    PRIMARY KEY (record_id, field)
);
CREATE INDEX correction_fields_request ON correction_fields (correction_id);
