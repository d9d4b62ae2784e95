#!/usr/bin/env bash
# The README's main-job command: starts everything, shows at least one alert from each app, formats
# them for people (no long decimals, no epoch milliseconds), folds bursts, prints the summary, exits
# cleanly and leaves nothing behind. Also: configuring prints no CMake warning, and scripts/build on
# an up-to-date build prints nothing.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
cfg=$(mktemp -d)
trap 'rm -rf "$out" "$cfg"' EXIT
failed=0
fail() { echo "$*"; failed=1; }

# Configuring from scratch: no CMake warning (FindBoost's about Boost versions it does not know).
cmake -S "$root" -B "$cfg" -G Ninja > "$cfg/configure.out" 2>&1 || fail "configure failed: $(tail -5 "$cfg/configure.out")"
! grep -q "CMake Warning" "$cfg/configure.out" || fail "configure warns: $(grep -A3 "CMake Warning" "$cfg/configure.out")"
# A no-op build says nothing: checked when the suite runs from ./build (then up to date), the build
# scripts/build and the demo use.
if [ -n "${SLUICE_BUILD_DIR:-}" ] && [ "$(realpath "$SLUICE_BUILD_DIR")" = "$(realpath -m "$root/build")" ]; then
  build_out=$("$root/scripts/build" 2>&1) || fail "scripts/build failed: $build_out"
  [ -z "$build_out" ] || fail "scripts/build on an up-to-date build printed: $build_out"
fi

timeout 300 "$root/scripts/demo" --no-build --duration "${1:-75}" > "$out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then fail "demo exited with $rc"; fi
alerts=$(grep -E '^\[[a-z-]+\] ' "$out" | grep -v '^\[[a-z-]*\] … and ')
for app in cpu-anomaly pizza-anomaly temperature-alert ops-anomalies; do
  shown=$(grep -c "^\[$app\] " <<< "$alerts")
  folded=$(sed -n "s/^\[$app\] … and \([0-9]*\) more alerts\{0,1\} in the last [0-9]* s$/\1/p" "$out" | awk '{n += $1} END {print n + 0}')
  summary=$(grep -E "^  $app +[0-9]+ +[0-9]+" "$out")
  total=$(awk '{print $2}' <<< "$summary")
  processed=$(awk '{print $3}' <<< "$summary")
  echo "$app: $shown alert(s) shown, $folded folded, summary: ${total:-none} alert(s), ${processed:-no} records processed"
  [ "$shown" -gt 0 ] || fail "no alert from $app"
  [ -n "$summary" ] || { fail "no summary line for $app"; continue; }
  [ "$total" -eq $((shown + folded)) ] || fail "$app: summary says $total alerts, the console showed $shown and folded $folded"
  [ "$processed" -gt 0 ] || fail "$app: no records processed"
done
# pizza-anomaly alerts in bursts (every order of a burst of bad orders): they are folded.
grep -qE '^\[pizza-anomaly\] … and [0-9]+ more alerts? in the last [0-9]+ s$' "$out" || fail "no burst of pizza-anomaly alerts was folded"
# Formatted for people: no number with more than 3 decimals, no epoch milliseconds, UTC times.
long=$(grep -E '[0-9]\.[0-9]{4,}' <<< "$alerts" | head -3)
[ -z "$long" ] || fail "alerts with long decimals: $long"
epoch=$(grep -E '(^|[^0-9])[0-9]{13}([^0-9]|$)' <<< "$alerts" | head -3)
[ -z "$epoch" ] || fail "alerts with epoch milliseconds: $epoch"
grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z' <<< "$alerts" || fail "no alert shows a UTC time"
grep -q "^demo: summary" "$out" || fail "no summary"
grep -q "^demo: stopped, removed" "$out" || fail "demo did not clean up"
if [ $failed -ne 0 ]; then echo "--- demo output (tail)"; tail -40 "$out"; exit 1; fi
echo "1 passed, 0 failed"
