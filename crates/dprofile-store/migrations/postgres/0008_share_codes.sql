-- Share codes: a person lets a checker (an employer, a landlord) see what one purpose needs.
-- Only a hash of the code is kept; the code is shown to the person once. Revoking, expiry and
-- the lock after too many wrong birth dates keep the row, so the access log's entries that
-- name a code keep meaning something.
CREATE TABLE share_codes (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL,
    code_hash BYTEA NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    failed_checks INTEGER NOT NULL DEFAULT 0,
    locked_at TIMESTAMPTZ
);
CREATE INDEX share_codes_by_person ON share_codes (person_id, id);
