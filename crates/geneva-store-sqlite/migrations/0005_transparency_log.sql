-- The transparency log (geneva-log): every stored version is a leaf.
--
-- A version's leaf index is kept as its difference from seq - 1. With one
-- writer numbering leaves in storage order the difference is 0, which SQLite
-- stores in no payload bytes at all: the column costs one header byte a row.
ALTER TABLE object_versions ADD COLUMN leaf_delta INTEGER;

-- Leaves numbered in an import's transaction but not yet in the tree. Rows
-- live only until the integrator adds them, in a transaction of its own.
-- kind: 0 = an object version (ref = its seq); small integers cost no payload bytes.
CREATE TABLE log_pending (
    leaf_index INTEGER PRIMARY KEY,
    kind       INTEGER NOT NULL,
    ref        INTEGER NOT NULL
);

-- The tree: every fourth level, 16 hashes a row (geneva_tlog::strata).
-- key = stratum << 56 | index. A strip only ever grows, and a full one is final.
CREATE TABLE log_strips (
    key    INTEGER PRIMARY KEY,
    hashes BLOB NOT NULL CHECK (length(hashes) BETWEEN 32 AND 512 AND length(hashes) % 32 = 0)
);
CREATE TRIGGER log_strips_grow_only BEFORE UPDATE ON log_strips
WHEN length(NEW.hashes) < length(OLD.hashes) OR substr(NEW.hashes, 1, length(OLD.hashes)) != OLD.hashes
BEGIN SELECT RAISE (ABORT, 'the log is append-only: a strip may only grow'); END;
CREATE TRIGGER log_strips_no_delete BEFORE DELETE ON log_strips
BEGIN SELECT RAISE (ABORT, 'the log is append-only'); END;

CREATE TABLE log_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       INTEGER NOT NULL,
    checkpoint TEXT,
    public_key TEXT,
    secret     BLOB CHECK (secret IS NULL OR length(secret) = 32)
);
INSERT INTO log_state (id, size) VALUES (1, 0);

-- Every checkpoint ever signed: what witnesses cosign and consistency proofs start from.
CREATE TABLE log_checkpoints (
    size      INTEGER PRIMARY KEY,
    note      TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE (ABORT, 'signed checkpoints are never changed'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE (ABORT, 'signed checkpoints are never deleted'); END;

CREATE TABLE log_witnesses (
    name       TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    added_at   TEXT NOT NULL
);

CREATE TABLE log_cosignatures (
    size        INTEGER NOT NULL,
    witness     TEXT    NOT NULL,
    line        TEXT    NOT NULL,
    received_at TEXT    NOT NULL,
    PRIMARY KEY (size, witness)
) WITHOUT ROWID;

-- Versions stored before the log existed become its first leaves, in storage order.
UPDATE object_versions SET leaf_delta = n.leaf - (object_versions.seq - 1)
FROM (SELECT seq, row_number() OVER (ORDER BY seq) - 1 AS leaf FROM object_versions) AS n
WHERE n.seq = object_versions.seq;
INSERT INTO log_pending (leaf_index, kind, ref)
SELECT leaf_delta + seq - 1, 0, seq FROM object_versions;
INSERT INTO sequences (name, value)
SELECT 'transparency-log', count(*) FROM object_versions WHERE true
ON CONFLICT (name) DO UPDATE SET value = excluded.value;
