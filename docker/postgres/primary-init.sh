#!/bin/bash
# Run once by the postgres image when it initialises an empty data volume (/docker-entrypoint-initdb.d): the role a
# streaming replica connects as, and the pg_hba.conf line that lets it (the image's own "host all all all" line does
# not cover replication connections). Without POSTGRES_REPLICATION_PASSWORD it does nothing: no replica, no role.
# On a database initialised before this script existed, run it by hand (README: "Past one server").
set -euo pipefail

if [ -z "${POSTGRES_REPLICATION_PASSWORD:-}" ]; then
    echo "primary-init: POSTGRES_REPLICATION_PASSWORD unset, no replication role created"
    exit 0
fi

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') \gexec
SQL

if ! grep -q '^host replication replicator ' "$PGDATA/pg_hba.conf"; then
    echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
