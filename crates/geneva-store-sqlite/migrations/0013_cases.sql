-- Panel cases, each a JSON document (geneva-panel's CaseFile) with a
-- revision every write names (compare and swap).
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    document TEXT NOT NULL
);
