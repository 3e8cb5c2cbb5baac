-- A counter a cache of reads keys its entries by (Store::read_generation).
-- It changes at commit, whichever connection or process wrote:
--   * objects (object_versions, current_objects, version_recipients) are
--     written by import_stream alone, which moves it once per transaction
--     (a trigger per row doubled the time of an ATT&CK-sized import);
--   * the directory and tokens, written a row at a time, by triggers.
-- The audit log does not move it: reading TLP:AMBER writes an audit entry,
-- and must not empty every cache.
CREATE TABLE read_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT INTO read_generation VALUES (1, 0);
CREATE TRIGGER sharing_groups_insert_read_generation AFTER INSERT ON sharing_groups
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_groups_update_read_generation AFTER UPDATE ON sharing_groups
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_groups_delete_read_generation AFTER DELETE ON sharing_groups
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_group_members_insert_read_generation AFTER INSERT ON sharing_group_members
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_group_members_update_read_generation AFTER UPDATE ON sharing_group_members
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER sharing_group_members_delete_read_generation AFTER DELETE ON sharing_group_members
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_insert_read_generation AFTER INSERT ON organisations
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_update_read_generation AFTER UPDATE ON organisations
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER organisations_delete_read_generation AFTER DELETE ON organisations
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_insert_read_generation AFTER INSERT ON users
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_read_generation AFTER UPDATE ON users
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_read_generation AFTER DELETE ON users
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_insert_read_generation AFTER INSERT ON api_tokens
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_update_read_generation AFTER UPDATE ON api_tokens
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER api_tokens_delete_read_generation AFTER DELETE ON api_tokens
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
