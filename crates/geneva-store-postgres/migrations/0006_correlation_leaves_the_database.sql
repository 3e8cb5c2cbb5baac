-- The correlation index moved out of the database into geneva-postings (its
-- own directory beside it, held in memory): a batch there costs what the
-- batch holds, where these B-trees keyed by hashes had every commit rewrite
-- pages all over the index. The tables were a projection; nothing is lost.
DROP TABLE IF EXISTS corr_values;
DROP TABLE IF EXISTS corr_postings;
DROP TABLE IF EXISTS corr_items;
DROP TABLE IF EXISTS corr_derived;
DROP TABLE IF EXISTS corr_addresses;
DROP TABLE IF EXISTS corr_prefixes;
DROP TABLE IF EXISTS corr_references;
DROP TABLE IF EXISTS corr_state;
