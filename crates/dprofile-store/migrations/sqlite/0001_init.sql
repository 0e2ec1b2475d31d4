CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    merged_into INTEGER
);

-- Layer 1: every received version, exactly as received. Never updated, never deleted (except
-- by the retention schedule).
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    -- The record's key (record_keys.key_id): versions of one key are found by it.
    key_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL,
    category TEXT,
    received_at INTEGER NOT NULL,
    observed_at INTEGER,
    valid_from TEXT,
    valid_to TEXT,
    content_hash BLOB NOT NULL,
    raw BLOB NOT NULL,
    warnings TEXT,
    outcome TEXT NOT NULL,
    person_id INTEGER
);
-- Integer keys, mostly growing: new entries land at the right edge of the index instead of
-- rewriting pages all over a text index on every chunk.
CREATE INDEX records_key ON records (key_id, revision);

-- Layer 2 and 3 projections: per key, the version in force and the person it belongs to.
-- A rowid table: a new key is appended; only the (source, source_ref) index takes random inserts.
CREATE TABLE record_keys (
    key_id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    person_id INTEGER,
    record_id INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL
);
CREATE UNIQUE INDEX record_keys_key ON record_keys (source, source_ref);
CREATE INDEX record_keys_person ON record_keys (person_id);

CREATE TABLE identifiers (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    search_value TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identifiers_search ON identifiers (search_value);
CREATE INDEX identifiers_person ON identifiers (person_id);

CREATE TABLE name_keys (
    name_key TEXT NOT NULL,
    birth_year INTEGER NOT NULL,
    person_id INTEGER NOT NULL,
    PRIMARY KEY (name_key, birth_year, person_id)
) WITHOUT ROWID;
CREATE INDEX name_keys_person ON name_keys (person_id);

CREATE TABLE link_decisions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    other_person_id INTEGER,
    record_id INTEGER,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    decided_at INTEGER NOT NULL
);
CREATE INDEX link_decisions_person ON link_decisions (person_id);
CREATE INDEX link_decisions_other ON link_decisions (other_person_id);

-- Pairs of persons an officer ruled apart (a rejected match, a split): never linked again
-- automatically; a record that bridges them goes to review instead.
CREATE TABLE cannot_link (
    first_person_id INTEGER NOT NULL,
    second_person_id INTEGER NOT NULL,
    decision_id INTEGER NOT NULL,
    PRIMARY KEY (first_person_id, second_person_id)
);

CREATE TABLE review_items (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_ids TEXT NOT NULL,
    record_id INTEGER,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    decision_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX review_items_status ON review_items (status, id);

-- Refused lines, kept byte for byte with the reasons, until fixed and replayed.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    origin TEXT NOT NULL,
    line_number INTEGER,
    source TEXT,
    source_ref TEXT,
    raw BLOB NOT NULL,
    raw_hash BLOB NOT NULL,
    violations TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    resolved_at INTEGER,
    resolved_record_id INTEGER
);
CREATE INDEX quarantine_open_hash ON quarantine (raw_hash) WHERE status = 'open';
CREATE INDEX quarantine_status ON quarantine (status, id);
