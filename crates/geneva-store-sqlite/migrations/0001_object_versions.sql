-- Every version of every object ever accepted. Rows are never updated or deleted:
-- the canonical JSON and its hash are the evidence.
CREATE TABLE object_versions (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    version_key  TEXT    NOT NULL,
    version      TEXT,
    spec_version TEXT,
    revoked      INTEGER NOT NULL CHECK (revoked IN (0, 1)),
    tlp          TEXT    NOT NULL,
    organisation TEXT    NOT NULL,
    submitted_at TEXT    NOT NULL,
    sha256       BLOB    NOT NULL CHECK (length(sha256) = 32),
    canonical    TEXT    NOT NULL,
    UNIQUE (id, version_key)
);

-- The current view: for each id, the version with the greatest version key.
CREATE TABLE current_objects (
    id          TEXT    PRIMARY KEY,
    type        TEXT    NOT NULL,
    version_key TEXT    NOT NULL,
    seq         INTEGER NOT NULL REFERENCES object_versions (seq)
) WITHOUT ROWID;

CREATE INDEX current_objects_by_type ON current_objects (type, id);
