-- The correlation index (see geneva_store::correlation): a projection of the
-- stored versions that the indexer rebuilds at will, so nothing here is
-- evidence. Rows are small and keyed by integers: postings, not pairs.

-- Each distinct value once, under its stable hash (probed on collision), with
-- its number of postings, so a query tells hot values without scanning them.
CREATE TABLE corr_values (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    n   INTEGER NOT NULL DEFAULT 0
);

-- value → item version, through the source version that carried it.
CREATE TABLE corr_postings (
    value  INTEGER NOT NULL,
    item   INTEGER NOT NULL,
    source INTEGER NOT NULL,
    PRIMARY KEY (value, item, source)
) WITHOUT ROWID;

-- An item version's values from one source, as packed 8-byte value ids.
CREATE TABLE corr_items (
    item   INTEGER NOT NULL,
    source INTEGER NOT NULL,
    vals   BLOB    NOT NULL,
    PRIMARY KEY (item, source)
) WITHOUT ROWID;

-- Derived key hash (registrable domain, URL host, ssdeep gram, TLSH band) → value.
CREATE TABLE corr_derived (
    key   INTEGER NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (key, value)
) WITHOUT ROWID;

-- Addresses in one 128-bit space (16 big-endian bytes) → value, for ranges.
CREATE TABLE corr_addresses (
    address BLOB    NOT NULL,
    value   INTEGER NOT NULL,
    PRIMARY KEY (address, value)
) WITHOUT ROWID;

CREATE TABLE corr_prefixes (
    prefix INTEGER PRIMARY KEY
);

-- Referenced object id → container versions referring to it.
CREATE TABLE corr_references (
    target TEXT    NOT NULL,
    item   INTEGER NOT NULL,
    PRIMARY KEY (target, item)
) WITHOUT ROWID;

CREATE TABLE corr_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER
);
INSERT INTO corr_state (id, cursor) VALUES (1, NULL);
