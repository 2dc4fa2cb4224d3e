#!/usr/bin/env bash
# Starts N instances of the built server (dist/) on one fresh PostgreSQL database and one Redis,
# with the sale settings the 30,000-socket run in BENCHMARKS.md uses (ADMIT_BATCH, QUEUE_ADMIT_INTERVAL_MS
# and MAX_ACTIVE override the admission pacing; pass the same values to the load generator). Stop them with:
#   kill $(cat /tmp/tix-cluster/*.pid)
# On one machine, run the load generator under `nice -n 19`: at equal priority its workers take the
# servers' CPU, and the event-loop lag that follows is what made holds end > 1 s late (BENCHMARKS.md).
# Usage: bench/cluster.sh [instances=3] [first port=3100] [database=tix_cluster_bench]
set -euo pipefail
N=${1:-3}; PORT0=${2:-3100}; DB=${3:-tix_cluster_bench}
DIR=/tmp/tix-cluster; mkdir -p "$DIR"; rm -f "$DIR"/*.pid
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PREFIX="tix-bench-$(date +%s):"
URLS=""
for i in $(seq 0 $((N - 1))); do
  PORT=$((PORT0 + i))
  env PORT=$PORT HOST=127.0.0.1 INSTANCE_ID="i$i" NODE_ENV=production LOG_LEVEL=${LOG_LEVEL:-warn} \
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" REDIS_URL=redis://127.0.0.1:6379 REDIS_PREFIX="$PREFIX" \
    JWT_SECRET=loadtest-secret-0123456789-0123456789-abcdef ADMIN_TOKEN=loadtest-admin-token-0123456789 SEED_DEMO=false ALLOW_PASSWORDLESS_SIGNUP=true \
    HOLD_TTL_SECONDS=30 MAX_SEATS_PER_USER=4 QUEUE_ADMIT_BATCH=${ADMIT_BATCH:-1000} QUEUE_ADMIT_INTERVAL_MS=${QUEUE_ADMIT_INTERVAL_MS:-100} \
    QUEUE_MAX_ACTIVE=${MAX_ACTIVE:-10000} QUEUE_ACTIVE_TTL_SECONDS=300 QUEUE_IDLE_TIMEOUT_SECONDS=120 QUEUE_MAX_WAITING=100000 \
    RATE_LIMIT_PER_USER=1000 RATE_LIMIT_PER_IP=1000000 DATE_LEASE_MS=${DATE_LEASE_MS:-3000} \
    node dist/index.js >"$DIR/i$i.log" 2>&1 &
  echo $! >"$DIR/i$i.pid"
  # One at a time: migrations take an advisory lock, and the first one creates the schema.
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "instance $i did not start, see $DIR/i$i.log" >&2; exit 1; }
  URLS="${URLS:+$URLS,}http://127.0.0.1:$PORT"
done
echo "$URLS"
