-- The outcome of a request processed for a client that may ask again later
-- (a TAXII status resource): kept as the JSON served, readable by its owner.
CREATE TABLE request_status (
    id         TEXT    PRIMARY KEY,
    -- The submitting organisation; NULL for the instance's own operators.
    owner      INTEGER,
    created_at TEXT    NOT NULL,
    body       TEXT    NOT NULL
);
