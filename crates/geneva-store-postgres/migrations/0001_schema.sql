-- Geneva on PostgreSQL: the same model as the SQLite store (see its migrations
-- for the reasons behind each table). Identifiers and version keys use the "C"
-- collation so that ordering and cursors are byte order, as on SQLite.
CREATE TABLE organisations (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('state', 'company', 'panel', 'vendor', 'researcher')),
    country    TEXT CHECK (country IS NULL OR length(country) = 2),
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    organisation BIGINT NOT NULL REFERENCES organisations (id)
);

CREATE TABLE sharing_groups (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE sharing_group_members (
    group_id     BIGINT NOT NULL REFERENCES sharing_groups (id),
    organisation BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (group_id, organisation)
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    secret_sha256 BYTEA NOT NULL CHECK (length(secret_sha256) = 32),
    organisation  BIGINT NOT NULL REFERENCES organisations (id),
    user_id       BIGINT REFERENCES users (id),
    scopes        SMALLINT NOT NULL,
    label         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);

CREATE TABLE audit_log (
    seq     BIGSERIAL PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    channel TEXT NOT NULL,
    target  TEXT,
    detail  TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE object_versions (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT COLLATE "C" NOT NULL,
    type          TEXT NOT NULL,
    version_key   TEXT COLLATE "C" NOT NULL,
    version       TEXT,
    spec_version  TEXT,
    revoked       BOOLEAN NOT NULL,
    tlp           TEXT NOT NULL,
    organisation  TEXT NOT NULL,
    submitted_at  TEXT NOT NULL,
    sha256        BYTEA NOT NULL CHECK (length(sha256) = 32),
    canonical     TEXT NOT NULL,
    org_id        BIGINT REFERENCES organisations (id),
    submitter_key BIGINT NOT NULL,
    UNIQUE (id, version_key, submitter_key)
);

CREATE TABLE version_recipients (
    seq    BIGINT NOT NULL REFERENCES object_versions (seq),
    kind   TEXT NOT NULL CHECK (kind IN ('org', 'group', 'user')),
    ref_id BIGINT NOT NULL,
    PRIMARY KEY (seq, kind, ref_id)
);

CREATE TABLE current_objects (
    id          TEXT COLLATE "C" PRIMARY KEY,
    type        TEXT NOT NULL,
    version_key TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL REFERENCES object_versions (seq),
    tlp         TEXT NOT NULL,
    org_id      BIGINT,
    versions    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX current_objects_by_type ON current_objects (type, id);
