-- The correlation index (see the SQLite migration 0006 for the model). The
-- indexer follows the feed in leaf order: leaf numbers are taken at commit
-- under one row lock, so they become visible in order, where seq values
-- (taken at insert) can commit out of order.
CREATE UNIQUE INDEX object_versions_by_leaf ON object_versions (leaf_index);

CREATE TABLE corr_values (
    id  BIGINT PRIMARY KEY,
    key TEXT NOT NULL
);

CREATE TABLE corr_postings (
    value  BIGINT NOT NULL,
    item   BIGINT NOT NULL,
    source BIGINT NOT NULL,
    PRIMARY KEY (value, item, source)
);

CREATE TABLE corr_items (
    item   BIGINT NOT NULL,
    source BIGINT NOT NULL,
    vals   BYTEA  NOT NULL,
    PRIMARY KEY (item, source)
);

CREATE TABLE corr_derived (
    key   BIGINT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (key, value)
);

CREATE TABLE corr_addresses (
    address BYTEA  NOT NULL,
    value   BIGINT NOT NULL,
    PRIMARY KEY (address, value)
);

CREATE TABLE corr_prefixes (
    prefix SMALLINT PRIMARY KEY
);

CREATE TABLE corr_references (
    target TEXT   NOT NULL,
    item   BIGINT NOT NULL,
    PRIMARY KEY (target, item)
);

CREATE TABLE corr_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor BIGINT
);
INSERT INTO corr_state (id, cursor) VALUES (1, NULL);
