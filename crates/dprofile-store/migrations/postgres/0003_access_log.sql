-- The tamper-evident access log (dprofile-audit): one row per access event, in log order.
-- `details` and `salt` are erased by retention; `hashes` (the entry's leaf hash and the roots
-- of the subtrees it completed, 32 bytes each) stay, so the tree remains verifiable.
CREATE TABLE access_log (
    position BIGINT PRIMARY KEY,
    person BIGINT,
    at TIMESTAMPTZ NOT NULL,
    -- When the person may see the entry (later than `at` for law-enforcement reads).
    disclosed_at TIMESTAMPTZ NOT NULL,
    salt BYTEA,
    details BYTEA,
    hashes BYTEA NOT NULL
);
CREATE INDEX access_log_person ON access_log (person, position) WHERE person IS NOT NULL;

-- The right edge of the tree after the last append: appending never reads the tree. The row
-- is locked by each append (SELECT ... FOR UPDATE), which orders concurrent writers.
CREATE TABLE access_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    range BYTEA NOT NULL
);

-- Signed tree heads (C2SP signed notes), one per size.
CREATE TABLE access_checkpoints (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);
