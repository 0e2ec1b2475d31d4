-- Probabilistic resolution at ingest (issue 3).

-- The frozen resolver model the pipeline scores with (JSON, as `dprofile resolve
-- --save-model` writes it). At most one: persons were resolved with it, so it is set once.
CREATE TABLE resolver_model (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);

-- The resolver's blocking keys (stable hashes of content) of each key's version in force,
-- when it is an upsert: a block's whole membership is found by its key, as the batch
-- resolver sees it. A projection of `records`, rebuilt on every new version of a key.
CREATE TABLE resolver_blocks (
    block_key INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    PRIMARY KEY (block_key, key_id)
) WITHOUT ROWID;
CREATE INDEX resolver_blocks_key_id ON resolver_blocks (key_id);
