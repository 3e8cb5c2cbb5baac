-- TLP 2.0 visibility: who submitted each version (by directory id) and whom it
-- was released to; the current view carries the current version's level and
-- submitter so that the common cases (CLEAR, GREEN, own data) need no join.
--
-- A version is unique per submitter: two members reporting the same object
-- version are two reports (two provenances), and one member's submission can
-- never collide with, and so reveal, another member's restricted version.
-- SQLite cannot change a UNIQUE constraint in place: rebuild the table.
CREATE TABLE object_versions_v3 (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    version_key   TEXT    NOT NULL,
    version       TEXT,
    spec_version  TEXT,
    revoked       INTEGER NOT NULL CHECK (revoked IN (0, 1)),
    tlp           TEXT    NOT NULL,
    organisation  TEXT    NOT NULL,
    submitted_at  TEXT    NOT NULL,
    sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
    canonical     TEXT    NOT NULL,
    org_id        INTEGER REFERENCES organisations (id),
    -- org_id, or 0 for the instance's own operators: NULLs would never collide.
    submitter_key INTEGER NOT NULL,
    UNIQUE (id, version_key, submitter_key)
);
INSERT INTO object_versions_v3
    SELECT seq, id, type, version_key, version, spec_version, revoked, tlp, organisation, submitted_at, sha256,
           canonical, NULL, 0
    FROM object_versions;
DROP TABLE object_versions;
ALTER TABLE object_versions_v3 RENAME TO object_versions;

CREATE TABLE version_recipients (
    seq    INTEGER NOT NULL REFERENCES object_versions (seq),
    kind   TEXT    NOT NULL CHECK (kind IN ('org', 'group', 'user')),
    ref_id INTEGER NOT NULL,
    PRIMARY KEY (seq, kind, ref_id)
) WITHOUT ROWID;

ALTER TABLE current_objects ADD COLUMN tlp TEXT NOT NULL DEFAULT 'red';
ALTER TABLE current_objects ADD COLUMN org_id INTEGER;
-- How many versions the id has: when the current one is hidden, older ones are searched only if there are any.
ALTER TABLE current_objects ADD COLUMN versions INTEGER NOT NULL DEFAULT 1;
UPDATE current_objects SET
    tlp = (SELECT v.tlp FROM object_versions v WHERE v.seq = current_objects.seq),
    versions = (SELECT count(*) FROM object_versions v WHERE v.id = current_objects.id);
