#!/usr/bin/env bash
# The README's main-job command: starts everything, shows at least one alert from each app, exits
# cleanly and leaves nothing behind.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 300 "$root/scripts/demo" --no-build --duration "${1:-75}" > "$out" 2>&1
rc=$?
failed=0
if [ $rc -ne 0 ]; then echo "demo exited with $rc"; failed=1; fi
for app in cpu-anomaly pizza-anomaly temperature-alert ops-anomalies; do
  n=$(grep -c "^\[$app\]" "$out")
  echo "$app: $n alert(s)"
  [ "$n" -gt 0 ] || { echo "no alert from $app"; failed=1; }
done
grep -q "^demo: stopped, removed" "$out" || { echo "demo did not clean up"; failed=1; }
if [ $failed -ne 0 ]; then echo "--- demo output (tail)"; tail -40 "$out"; exit 1; fi
echo "1 passed, 0 failed"
