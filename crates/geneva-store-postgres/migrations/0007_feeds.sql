-- Remote TAXII collections the server pulls on a schedule, and where each
-- resumes. Passwords are not kept: only the name of the environment
-- variable that holds one.
CREATE TABLE feeds (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url           TEXT    NOT NULL,
    collection    TEXT    NOT NULL,
    user_name     TEXT,
    password_env  TEXT,
    every_secs    BIGINT NOT NULL CHECK (every_secs > 0),
    allow_private BOOLEAN NOT NULL,
    organisation  TEXT,
    tlp           TEXT    NOT NULL,
    since         TEXT,
    last_added    TEXT,
    next_run_ms   BIGINT NOT NULL,
    last_run_ms   BIGINT,
    last_objects  BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT
);
