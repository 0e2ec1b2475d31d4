-- Agency API keys: only the SHA-256 of the token is kept (the token is shown once, when the
-- key is created). A key acts for one agency in one policy role; revoking stamps `revoked_at`
-- and keeps the row, so access-log entries that name the key keep meaning something.
CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    agency TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
