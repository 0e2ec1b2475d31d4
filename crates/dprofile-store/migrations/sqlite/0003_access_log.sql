-- The tamper-evident access log (dprofile-audit): one row per access event, in log order.
-- `details` and `salt` are erased by retention; `hashes` (the entry's leaf hash and the roots
-- of the subtrees it completed, 32 bytes each) stay, so the tree remains verifiable.
CREATE TABLE access_log (
    position INTEGER PRIMARY KEY,
    person INTEGER,
    at INTEGER NOT NULL,
    -- When the person may see the entry (later than `at` for law-enforcement reads).
    disclosed_at INTEGER NOT NULL,
    salt BLOB,
    details BLOB,
    hashes BLOB NOT NULL
);
CREATE INDEX access_log_person ON access_log (person, position) WHERE person IS NOT NULL;

-- The right edge of the tree after the last append: appending never reads the tree.
CREATE TABLE access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    range BLOB NOT NULL
);

-- Signed tree heads (C2SP signed notes), one per size.
CREATE TABLE access_checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL,
    signed_at INTEGER NOT NULL
);
