-- Officer accounts: a login with an argon2id password hash (a PHC string: algorithm,
-- parameters and salt travel with the hash), acting for one agency in one policy role.
-- Failed sign-ins are counted per account and a lock-out is stamped here, so both survive a
-- restart and hold across API processes. Disabling keeps the row: `officer:<login>` in the
-- access log keeps naming someone.
CREATE TABLE officers (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    agency TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    disabled_at INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER
);

-- Officers' sessions: only the SHA-256 of the token. `expires_at` is absolute; the idle
-- timeout is measured from `last_seen_at`. A signed-out session keeps its row until it would
-- have expired.
CREATE TABLE officer_sessions (
    token_hash BLOB PRIMARY KEY,
    officer_id INTEGER NOT NULL REFERENCES officers (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX officer_sessions_by_officer ON officer_sessions (officer_id);
CREATE INDEX officer_sessions_by_expiry ON officer_sessions (expires_at);

-- The person's pending sign-ins (one-time codes) and sessions, formerly in one API process's
-- memory: keyed by the SHA-256 of the sign-in id and of the session token. `person_id` is
-- NULL for a sign-in whose document and birth date matched nobody (it can never succeed).
CREATE TABLE person_sign_ins (
    id_hash BLOB PRIMARY KEY,
    person_id INTEGER,
    document TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX person_sign_ins_by_expiry ON person_sign_ins (expires_at);

CREATE TABLE person_sessions (
    token_hash BLOB PRIMARY KEY,
    person_id INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX person_sessions_by_expiry ON person_sessions (expires_at);
