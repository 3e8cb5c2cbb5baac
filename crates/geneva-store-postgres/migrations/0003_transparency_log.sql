-- The transparency log (see the SQLite migration 0005 for the model). Leaf
-- numbers are taken from the `transparency-log` sequence at the end of each
-- import's transaction; its row lock orders concurrent importers, so leaves
-- become visible in number order with no gaps.
ALTER TABLE object_versions ADD COLUMN leaf_index BIGINT;

CREATE TABLE log_pending (
    leaf_index BIGINT PRIMARY KEY,
    kind       TEXT   NOT NULL,
    ref        BIGINT NOT NULL
);

CREATE TABLE log_strips (
    key    BIGINT PRIMARY KEY,
    hashes BYTEA  NOT NULL CHECK (length(hashes) BETWEEN 32 AND 512 AND length(hashes) % 32 = 0)
);

CREATE FUNCTION log_strips_grow_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the log is append-only';
    END IF;
    IF length(NEW.hashes) < length(OLD.hashes) OR substring(NEW.hashes FROM 1 FOR length(OLD.hashes)) <> OLD.hashes THEN
        RAISE EXCEPTION 'the log is append-only: a strip may only grow';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER log_strips_grow_only BEFORE UPDATE OR DELETE ON log_strips
FOR EACH ROW EXECUTE FUNCTION log_strips_grow_only();

CREATE TABLE log_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    size       BIGINT NOT NULL,
    checkpoint TEXT,
    public_key TEXT,
    secret     BYTEA CHECK (secret IS NULL OR length(secret) = 32)
);
INSERT INTO log_state (id, size) VALUES (1, 0);

CREATE TABLE log_checkpoints (
    size      BIGINT PRIMARY KEY,
    note      TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE FUNCTION log_checkpoints_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signed checkpoints are never changed or deleted';
END $$;
CREATE TRIGGER log_checkpoints_final BEFORE UPDATE OR DELETE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION log_checkpoints_final();

CREATE TABLE log_witnesses (
    name       TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    added_at   TEXT NOT NULL
);

CREATE TABLE log_cosignatures (
    size        BIGINT NOT NULL,
    witness     TEXT   NOT NULL,
    line        TEXT   NOT NULL,
    received_at TEXT   NOT NULL,
    PRIMARY KEY (size, witness)
);

UPDATE object_versions SET leaf_index = n.leaf
FROM (SELECT seq, row_number() OVER (ORDER BY seq) - 1 AS leaf FROM object_versions) AS n
WHERE n.seq = object_versions.seq;
INSERT INTO log_pending (leaf_index, kind, ref)
SELECT leaf_index, 'object-version', seq FROM object_versions;
INSERT INTO sequences (name, value)
SELECT 'transparency-log', count(*) FROM object_versions
ON CONFLICT (name) DO UPDATE SET value = excluded.value;
