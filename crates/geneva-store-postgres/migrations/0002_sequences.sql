-- Named, gap-free counters shared by every server process (the transparency
-- log's leaf numbers). The row lock of the upsert serialises concurrent takers.
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL CHECK (value >= 0)
);
