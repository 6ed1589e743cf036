#!/bin/bash
# The web bench on a copy of a scanned region, once alone and once while the daily scans of the
# next day and the days after it run beside it, one after another from when wrk starts to its
# end. Run from the repository's root:
#
#   TEMPLATE=scanned500k DAY=2026-12-06 WRITES=2 bench/web_during_scan.sh
#
# TEMPLATE: a PostgreSQL database on 127.0.0.1 filled by `gapwatch demo --cases N` and scanned
# (its copy, COPY_DB, is made afresh and left for a look afterwards); DAY: the day after the
# scan's; WRITES: flags acknowledged a second meanwhile (bench/web_bench.py's writer);
# SCAN_PREFIX: a command each scan runs under (`nice -n 10`, say).
set -u
TEMPLATE=${TEMPLATE:?the scanned database to copy} DAY=${DAY:?the day to scan}
COPY_DB=${COPY_DB:-${TEMPLATE}_web} WRITES=${WRITES:-2}
URL=postgresql+psycopg://root@127.0.0.1:5432/$COPY_DB
psql -h 127.0.0.1 -U root -d postgres -qc "DROP DATABASE IF EXISTS $COPY_DB" \
    -c "CREATE DATABASE $COPY_DB TEMPLATE $TEMPLATE"
export GAPWATCH_SECRET_KEY=${GAPWATCH_SECRET_KEY:-bench-secret-key-0123456789abcdef}
export GAPWATCH_DATABASE_URL=$URL
.venv/bin/gunicorn -w 4 -k gthread --threads 4 -b 127.0.0.1:8765 wsgi:app > gunicorn-bench.log 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
sleep 6
BENCH=(.venv/bin/python bench/web_bench.py --database-url "$URL" --base-url http://127.0.0.1:8765
       --users 16 --seconds 60 --think-ms 1000 --writes-per-second "$WRITES")
echo "== alone (load $(cut -d' ' -f1-3 /proc/loadavg))"
"${BENCH[@]}"
echo "== while the daily scans from $DAY run, one after another (load $(cut -d' ' -f1-3 /proc/loadavg))"
"${BENCH[@]}" &
LOAD=$!
until pgrep -x wrk > /dev/null; do sleep 0.2; done
# As the scheduler's daily scan: the findings counted, not listed. One day's scan lasts a few
# seconds of the minute, so the scans of the days after it follow, one after another, until the
# load ends: every page of the minute is asked for while a daily scan runs.
DAYS=0
while kill -0 $LOAD 2> /dev/null; do
    ON=$(date -d "$DAY + $DAYS day" +%F)
    GAPWATCH_SCAN_WORKERS=1 ${SCAN_PREFIX:-} /usr/bin/time -f "scan of $ON: %e s wall, %U s user, %S s system, %M KB" \
        .venv/bin/gapwatch scan --as-of "$ON" --summary > /dev/null
    DAYS=$((DAYS + 1))
done
wait $LOAD
