-- The change feed (issue 7): a transactional outbox. Every change that agencies may be told
-- about writes its event rows in the SAME transaction as the change, so a change never commits
-- without its event and an event never exists for a change that rolled back.
--
-- `position` is the feed's cursor. It is taken from the one row of `events_head`, updated
-- (and so locked) by the writing transaction until it commits: positions are handed out in
-- commit order, so a reader at cursor N never later finds an event below N it did not see
-- (a sequence would hand out positions in start order, and a slow transaction would commit
-- an event below a cursor readers had already passed).
-- `person_seq` counts each person's events (1, 2, …) from `events_person_seq`.
CREATE TABLE events (
    position BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    person_id BIGINT,
    person_seq BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    type TEXT NOT NULL,
    -- Comma-separated category codes the event tells about: a subscriber receives it only
    -- when its role may read every one of them for its purpose.
    categories TEXT NOT NULL,
    -- JSON: ids, dates and statuses; never field values of a record.
    payload TEXT NOT NULL
);
CREATE INDEX events_by_person ON events (person_id, position);
CREATE TABLE events_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO events_head (id, position) VALUES (1, 0);
CREATE TABLE events_person_seq (
    person_id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
-- The statuses (answer, until, basis per kind) last announced for a person: the "before" of
-- the next change, so a chunk computes statuses only for the persons it touches, once.
CREATE TABLE event_status_snapshots (
    person_id BIGINT PRIMARY KEY,
    statuses TEXT NOT NULL
);
-- Agencies' subscriptions to the feed: which event types and categories, for which role and
-- purpose (checked against the policy when created and again at every delivery), and where
-- webhooks go. The webhook secret is kept because the server signs with it; it is shown once.
CREATE TABLE subscriptions (
    id BIGSERIAL PRIMARY KEY,
    agency TEXT NOT NULL,
    role TEXT NOT NULL,
    purpose TEXT NOT NULL,
    event_types TEXT NOT NULL,
    categories TEXT NOT NULL,
    webhook_url TEXT,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
