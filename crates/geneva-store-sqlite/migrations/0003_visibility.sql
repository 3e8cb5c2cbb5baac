-- TLP 2.0 visibility: who submitted each version (by directory id) and whom it
-- was released to; the current view carries the current version's level and
-- submitter so that the common cases (CLEAR, GREEN, own data) need no join.
ALTER TABLE object_versions ADD COLUMN org_id INTEGER REFERENCES organisations (id);

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
