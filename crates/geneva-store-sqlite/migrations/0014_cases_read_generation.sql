-- Case documents move the read generation too: the public findings are
-- read from them (a case becomes published), and are cached by it.
CREATE TRIGGER cases_insert_read_generation AFTER INSERT ON cases
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cases_update_read_generation AFTER UPDATE ON cases
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER cases_delete_read_generation AFTER DELETE ON cases
BEGIN UPDATE read_generation SET n = n + 1 WHERE id = 1; END;
