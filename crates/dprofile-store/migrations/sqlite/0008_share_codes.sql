-- Share codes: a person lets a checker (an employer, a landlord) see what one purpose needs.
-- Only a hash of the code is kept; the code is shown to the person once. Revoking, expiry and
-- the lock after too many wrong birth dates keep the row, so the access log's entries that
-- name a code keep meaning something.
CREATE TABLE share_codes (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    code_hash BLOB NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    failed_checks INTEGER NOT NULL DEFAULT 0,
    locked_at INTEGER
);
CREATE INDEX share_codes_by_person ON share_codes (person_id, id);
