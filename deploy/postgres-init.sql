-- Runs once, when the postgres volume is first initialised
-- (mounted into /docker-entrypoint-initdb.d by compose.yaml).
-- One database per service; schemas are created by `python -m ops.migrate`.
CREATE DATABASE auth OWNER energiepost;
CREATE DATABASE files OWNER energiepost;
CREATE DATABASE notify OWNER energiepost;
