-- Remote TAXII collections the server pulls on a schedule, and where each
-- resumes. Passwords are not kept: only the name of the environment
-- variable that holds one.
CREATE TABLE feeds (
    id            INTEGER PRIMARY KEY,
    url           TEXT    NOT NULL,
    collection    TEXT    NOT NULL,
    user_name     TEXT,
    password_env  TEXT,
    every_secs    INTEGER NOT NULL CHECK (every_secs > 0),
    allow_private INTEGER NOT NULL CHECK (allow_private IN (0, 1)),
    organisation  TEXT,
    tlp           TEXT    NOT NULL,
    since         TEXT,
    last_added    TEXT,
    next_run_ms   INTEGER NOT NULL,
    last_run_ms   INTEGER,
    last_objects  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT
);
