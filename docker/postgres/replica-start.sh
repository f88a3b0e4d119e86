#!/bin/bash
# The replica container (docker-compose.yml, profile "replica"): on an empty data volume, a base backup of the
# primary taken with pg_basebackup, which also writes standby.signal and primary_conninfo (-R), so PostgreSQL starts
# as a hot standby that follows the primary's WAL stream. Later starts only start it again.
set -euo pipefail

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # The primary may still be starting, or the replication role may not exist yet: try again until it answers.
    until pg_basebackup --host="$PRIMARY_HOST" --username=replicator --pgdata="$PGDATA" \
        --wal-method=stream --write-recovery-conf --checkpoint=fast --no-password; do
        echo "replica-start: base backup from $PRIMARY_HOST failed, retrying in 5 s"
        rm -rf "${PGDATA:?}"/*
        sleep 5
    done
    chmod 0700 "$PGDATA"
fi

# hot_standby_feedback: a long dashboard query on the replica is not cancelled by the primary's vacuum.
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c max_standby_streaming_delay=60s
