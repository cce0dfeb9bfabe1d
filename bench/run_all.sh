#!/bin/sh
# Every benchmark in one run (about 8 minutes on 2 cores). Needs PostgreSQL on
# 127.0.0.1:5432 (trust auth for postgres), Redis on 127.0.0.1:6379 (database 14 is
# flushed; BENCH_REDIS_DB picks another) and wrk (installed with apt-get when missing
# and run as root). Each script makes its own database, starts and stops its own
# processes, and prints its figures and the machine. Output: stdout and bench/last-run.txt.
set -eu
cd "$(dirname "$0")/.."
. .venv/bin/activate
pip install -q -e ".[bench]" >/dev/null 2>&1 || pip install -q aiohttp py-spy pyinstrument websockets
{
  echo "# bench/run_all.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
  python -m bench.bench_http
  python -m bench.bench_callbacks
  python -m bench.bench_push
  python -m bench.bench_sweep
  python -m bench.profile_hot_paths --requests 200
} 2>&1 | tee bench/last-run.txt
