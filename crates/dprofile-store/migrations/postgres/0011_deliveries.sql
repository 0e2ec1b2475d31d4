-- Webhook delivery state (issue 7). `webhook_cursors` says up to which feed position a
-- subscription's events were queued; `webhook_deliveries` holds each queued event until it is
-- delivered (then the row goes) or parked in the dead-letter list (`dead_at` set).
CREATE TABLE webhook_cursors (
    subscription_id BIGINT PRIMARY KEY,
    queued_through BIGINT NOT NULL
);
CREATE TABLE webhook_deliveries (
    subscription_id BIGINT NOT NULL,
    position BIGINT NOT NULL,
    person_id BIGINT,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    dead_at TIMESTAMPTZ,
    PRIMARY KEY (subscription_id, position)
);
CREATE INDEX webhook_deliveries_by_person ON webhook_deliveries (person_id);
