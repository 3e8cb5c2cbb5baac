-- Newest-first listings (the workspace's incidents) walk current objects
-- of a type by their current version's storage number, backwards.
CREATE INDEX current_objects_by_type_seq ON current_objects (type, seq);
