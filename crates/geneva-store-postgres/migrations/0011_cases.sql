-- Panel cases, each a JSON document (geneva-panel's CaseFile) with a
-- revision every write names (compare and swap).
CREATE TABLE cases (
    id text PRIMARY KEY,
    revision bigint NOT NULL,
    document text NOT NULL
);
