-- Knowledge-base sources (ATT&CK bundles, MISP galaxies) kept whole, one
-- per kind and name: a newer release replaces the older.
CREATE TABLE knowledge_sources (
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    version     TEXT,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    imported_ms INTEGER NOT NULL,
    bytes       BLOB    NOT NULL,
    PRIMARY KEY (kind, name)
);
