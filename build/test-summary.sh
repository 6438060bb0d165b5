#!/usr/bin/env bash
# Runs `dotnet test` on the solution and ends with the totals on a line of their own: "N passed, N failed".
# Exit status: non-zero when a test failed, a test project failed to build, or no test ran.
set -uo pipefail
log=$(mktemp)
dotnet test DeepSeek.Search.sln -c Release --no-restore "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
read -r passed failed skipped < <(grep -E '^\s*(Passed|Failed)!\s+-\s+Failed:' "$log" \
  | sed -E 's/.*Failed:\s*([0-9]+), Passed:\s*([0-9]+), Skipped:\s*([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
# The names of failed tests, so the tail of a CI log says which one failed.
fails=$(grep -E '^\s*Failed [A-Za-z_][A-Za-z0-9_.]*' "$log" | sed -E 's/^\s*Failed\s+//; s/\s+\[.*//' | sort -u)
# Each failure's message and the first frames of its stack, so the tail of a CI log also says why.
details=$(awk '
  /^[[:space:]]*Failed [A-Za-z_][A-Za-z0-9_.]*/ { n = 14; print ""; }
  n > 0 { print; n--; }' "$log" | cut -c1-300 | tail -n 120)
rm -f "$log"
echo
if [ -n "$fails" ]; then echo "failures:"; echo "$details"; echo; echo "failed tests:"; echo "$fails" | sed 's/^/  /'; fi
echo "(${skipped} skipped)"
echo "${passed} passed, ${failed} failed"
if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
