#!/usr/bin/env bash
# What each test file costs, run alone: its wall time and the CPU seconds (user + system) of its whole process
# tree (the node test runner, the file, every binary and server it started and waited for), by GNU time.
# CPU seconds hardly depend on what else the machine runs; wall time does (quote the load average with it).
#   bash test/helpers/file-cost.sh [FILE.test.js ...]   (after npm run build; default: every dist/test/*.test.js)
# Prints "name wall user system load" a line per file, then the totals; JOBS=N runs N files at a time (default 1).
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || set -- $(node dist/test/helpers/order.js)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
out=$(mktemp -d)
one() {
  local f=$1 b
  b=$(basename "$f" .test.js)
  /usr/bin/time -o "$2/$b.time" -f '%e %U %S' node --test --test-concurrency=1 --test-reporter=./dist/test/helpers/reporter.js "$f" >"$2/$b.log" 2>&1
  local rc=$?
  echo "$b $(tail -1 "$2/$b.time") $(cut -d' ' -f1 /proc/loadavg)$([ $rc = 0 ] || echo " FAILED (exit $rc): $2/$b.log")"
}
export -f one
printf '%s\n' "$@" | xargs -P "${JOBS:-1}" -I{} bash -c 'one "$1" "$2"' _ {} "$out" | tee "$out/all"
awk '{ w += $2; c += $3 + $4 } END { printf "total: %d files, %.0f s wall one after another, %.0f CPU-seconds\n", NR, w, c }' "$out/all"
