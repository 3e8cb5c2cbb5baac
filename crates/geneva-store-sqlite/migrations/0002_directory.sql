-- Members: organisations, their users, sharing groups; API tokens; the audit log.
CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('state', 'company', 'panel', 'vendor', 'researcher')),
    country    TEXT CHECK (country IS NULL OR length(country) = 2),
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    organisation INTEGER NOT NULL REFERENCES organisations (id)
);

CREATE TABLE sharing_groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE sharing_group_members (
    group_id     INTEGER NOT NULL REFERENCES sharing_groups (id),
    organisation INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (group_id, organisation)
) WITHOUT ROWID;

-- Only the SHA-256 of a token's secret is kept.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    secret_sha256 BLOB NOT NULL CHECK (length(secret_sha256) = 32),
    organisation  INTEGER NOT NULL REFERENCES organisations (id),
    user_id       INTEGER REFERENCES users (id),
    scopes        INTEGER NOT NULL,
    label         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
) WITHOUT ROWID;

CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    channel TEXT NOT NULL,
    target  TEXT,
    detail  TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE (ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE (ABORT, 'the audit log is append-only'); END;
