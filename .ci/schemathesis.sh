#!/usr/bin/env bash
# Fuzz the running app against its own OpenAPI schema with schemathesis.
#
# Starts the app on a free port with a throwaway SQLite database, creates a demo
# organization for a real API key, runs every operation of /api/schema/ and stops the
# server however the run ends. Exits non-zero when schemathesis finds a problem.
#
# Every check runs (SCHEMATHESIS_CHECKS narrows them); .ci/schemathesis.toml says which
# answers are expected where the schema cannot describe an input fully. Its warnings are
# summarized in one line; the full report is printed only when the run fails.
# SCHEMATHESIS_MAX_EXAMPLES (default 25) bounds the test cases per operation.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
workdir="$(mktemp -d)"
config="$PWD/.ci/schemathesis.toml"
server_pid=""

stop() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap stop EXIT

export DATABASE_URL="sqlite:///$workdir/db.sqlite3"
export ALLOW_PRIVATE_WEBHOOK_URLS=1
export SANDBOX_RING_SECONDS=0.2 SANDBOX_TALK_SECONDS=0.5
# The fuzzer creates calls far faster than any customer; the limit has its own tests.
export CALL_CREATE_RATE="${CALL_CREATE_RATE:-100000/s}"
export LOG_LEVEL=WARNING

port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PYTHON" manage.py migrate --no-input -v 0
api_key="$("$PYTHON" manage.py demo --json | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')"

"$PYTHON" manage.py serve --port "$port" >"$workdir/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"

status=0
# Run from the scratch directory: schemathesis keeps state files in its working directory.
(cd "$workdir" && "$PYTHON" -m schemathesis.cli --config-file "$config" --no-color run "$base/api/schema/" \
    --wait-for-schema 30 \
    --header "X-API-Key: $api_key" \
    --checks "${SCHEMATHESIS_CHECKS:-all}" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --phases examples,coverage,fuzzing \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --workers 1 \
    --request-timeout 10 \
    --no-shrink \
    --generation-database none) >"$workdir/report.txt" 2>&1 \
    || status=$?

# One line: operations, failures and warnings (each warning's headline, semicolon-separated).
"$PYTHON" - "$workdir/report.txt" "$status" <<'PY'
import re, sys
report, status = open(sys.argv[1]).read(), sys.argv[2]
summary = re.findall(r"^=+ (.*?) =+$", report, flags=re.MULTILINE)
warnings = report.split("\nWarnings:\n", 1)[1].split("\n\n", 1)[0] if "\nWarnings:\n" in report else ""
warnings = "; ".join(line.strip(" ⚠️") for line in warnings.splitlines() if line.strip())
print(f"schemathesis: {'passed' if status == '0' else 'FAILED'} ({summary[-1] if summary else 'no summary'})"
      + (f"; warnings: {warnings}" if warnings else ""))
PY
if [ "$status" -ne 0 ]; then
    cat "$workdir/report.txt"
    echo "--- server log (last 80 lines) ---"
    tail -n 80 "$workdir/server.log"
fi
exit "$status"
