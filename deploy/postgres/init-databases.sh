#!/bin/sh
# Runs once, when the postgres volume is first initialised (mounted into
# /docker-entrypoint-initdb.d by compose.yaml): one database per service, each owned by a user of
# its own, so that no service can read another's data.  The users and passwords come from the same
# secrets the services get (database_url_<service>: postgresql://USER:PASSWORD@postgres:5432/DB).
set -eu
secrets=${SECRETS_DIR:-/run/secrets}
for service in auth files notify; do
    url=$(cat "$secrets/database_url_${service}")
    user=$(printf '%s' "$url" | sed -E 's#^[a-z0-9+]+://([^:]+):.*$#\1#')
    password=$(printf '%s' "$url" | sed -E 's#^[a-z0-9+]+://[^:]+:([^@]+)@.*$#\1#')
    database=$(printf '%s' "$url" | sed -E 's#^.*/([^/?]+)$#\1#')
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -v user="$user" -v password="$password" -v db="$database" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
