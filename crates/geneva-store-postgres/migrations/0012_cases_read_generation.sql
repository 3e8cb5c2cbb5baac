-- Case documents move the read generation too: the public findings are
-- read from them (a case becomes published), and are cached by it.
CREATE TRIGGER cases_read_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION bump_read_generation();
