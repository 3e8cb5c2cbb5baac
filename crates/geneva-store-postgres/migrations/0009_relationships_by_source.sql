-- What an incident uses and targets, and what an item is attributed to, are
-- relationships starting at it: found by their source without a scan.
CREATE INDEX object_versions_by_source_ref
    ON object_versions ((canonical::jsonb ->> 'source_ref'))
    WHERE type = 'relationship';
