-- Signed QR passes the persons issued (issue 5). A row's id is also the pass's index in the
-- published status list (Token Status List), so it never changes and is never reused; the
-- signed text is kept so that the person can fetch the QR again. Revoking stamps
-- `revoked_at` and keeps the row: the status list sets the pass's bit from it.
CREATE TABLE passes (
    id BIGSERIAL PRIMARY KEY,
    person_id BIGINT NOT NULL,
    pass_id BYTEA NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    view TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    revoked_at TIMESTAMPTZ
);
CREATE INDEX passes_by_person ON passes (person_id, id);
CREATE INDEX passes_revoked ON passes (id) WHERE revoked_at IS NOT NULL;
