-- A counter a cache of reads keys its entries by (Store::read_generation).
-- It changes at commit, whichever process wrote:
--   * objects (object_versions, current_objects, version_recipients) are
--     written by import_stream alone, which moves it once, last thing before
--     commit, so its row lock is held only for the commit (a trigger would
--     fire once per object: the import writes a statement per object);
--   * the directory and tokens, by statement triggers.
-- The audit log does not move it: reading TLP:AMBER writes an audit entry,
-- and must not empty every cache.
CREATE TABLE read_generation (
    id smallint PRIMARY KEY CHECK (id = 1),
    n bigint NOT NULL
);
INSERT INTO read_generation VALUES (1, 0);

CREATE FUNCTION bump_read_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE read_generation SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER sharing_groups_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sharing_groups
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();

CREATE TRIGGER sharing_group_members_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sharing_group_members
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();

CREATE TRIGGER organisations_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();

CREATE TRIGGER users_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();

CREATE TRIGGER api_tokens_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();
