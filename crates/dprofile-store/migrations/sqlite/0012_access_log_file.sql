-- The access log lives in a file of its own (`sqlite_backend/access_log_file.rs`), attached
-- as `log`: appends of read entries then leave the main file, and its readers' page caches,
-- untouched. Before this runs, `access_log_file::copy_into_log_file` has copied every row into
-- the log file (a transaction of that file alone); here the main file's tables go.
DROP TABLE main.access_log;
DROP TABLE main.access_log_head;
DROP TABLE main.access_checkpoints;

-- Entries of a transaction that wrote both files, kept with the data until the next
-- transaction has seen them in the log (or appended them again, had the log's commit been
-- lost). `head` is the log's head after the row, on the last row of its transaction.
CREATE TABLE access_log_pending (
    position INTEGER PRIMARY KEY,
    person INTEGER,
    at INTEGER NOT NULL,
    disclosed_at INTEGER NOT NULL,
    salt BLOB,
    details BLOB,
    hashes BLOB NOT NULL,
    head BLOB
);
