-- Named, gap-free counters shared by every writer (the transparency log's leaf numbers).
CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL CHECK (value >= 0)
) WITHOUT ROWID;
