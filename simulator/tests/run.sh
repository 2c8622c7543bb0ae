#!/usr/bin/env bash
# run.sh: builds the simulator and its C++ modules, then runs them under Wine and checks the
# transcripts: whole transcripts against the *.expected files, exit codes and summary lines for
# the failure cases, and that the benchmark mode runs.
#
#   simulator/tests/run.sh [OUT_DIR]        (default OUT_DIR: target/simulator)
#   UPDATE=1 simulator/tests/run.sh         rewrites the *.expected files from this run
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/simulator}"
"$here/../build.sh" "$out" >/dev/null || { echo "run.sh: build failed"; exit 1; }
out="$(cd "$out" && pwd)"

export WINEPREFIX="${WINEPREFIX:-$out/wineprefix}" WINEDEBUG="${WINEDEBUG:--all}" WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
WINE="${WINE:-wine}"
failures=0

# Runs the simulator; the transcript (stdout) goes to $out/<name>.out, Wine's own messages
# (stderr) to $out/<name>.err, and the exit code to $rc. The "load" line carries the output
# path, so it is left out of comparisons.
sim() {
    local name="$1"
    shift
    "$WINE" "$out/sim.exe" "$@" 2>"$out/$name.err" | tr -d '\r' | grep -v '^load ' >"$out/$name.out"
    rc=${PIPESTATUS[0]}
}

check() {
    local what="$1" ok="$2"
    if [ "$ok" = 1 ]; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        failures=$((failures + 1))
    fi
}

golden() {
    local name="$1" expected_rc="$2"
    if [ "${UPDATE:-0}" = 1 ]; then
        cp "$out/$name.out" "$here/$name.expected"
    fi
    if diff -u "$here/$name.expected" "$out/$name.out" >"$out/$name.diff"; then
        check "$name: transcript matches $name.expected" 1
    else
        check "$name: transcript matches $name.expected (see $out/$name.diff)" 0
    fi
    check "$name: exit code $expected_rc" "$([ "$rc" = "$expected_rc" ] && echo 1 || echo 0)"
}

sim cancel_io_get "$out/cancel_io_cpp.dll" "$here/get.txt"
golden cancel_io_get 0

sim exercise "$out/exercise_cpp.dll" "$here/exercise.txt"
golden exercise 0

sim late "$out/exercise_cpp.dll" "$here/late.txt"
check "late: exit code 3" "$([ "$rc" = 3 ] && echo 1 || echo 0)"
check "late: violation reported" "$(grep -q '^violation: IHttpContext::GetRequest called on request 1 after its module was disposed$' "$out/late.out" && echo 1 || echo 0)"
check "late: summary counts it" "$(grep -q '^summary: .* after-dispose=1 ' "$out/late.out" && echo 1 || echo 0)"

sim crash "$out/exercise_cpp.dll" "$here/crash.txt"
check "crash: exit code 4" "$([ "$rc" = 4 ] && echo 1 || echo 0)"
check "crash: crash line" "$(grep -q '^crash: exception 0xC0000005 in "exercise_cpp.dll"' "$out/crash.out" && echo 1 || echo 0)"

sim bench "--requests" 1000 "$out/cancel_io_cpp.dll" "$here/get.txt"
check "bench: exit code 0" "$([ "$rc" = 0 ] && echo 1 || echo 0)"
check "bench: only summary, bench and result lines" "$([ "$(grep -cv '^\(summary\|bench\|result\): ' "$out/bench.out")" = 0 ] && echo 1 || echo 0)"
check "bench: 1000 requests" "$(grep -q '^bench: 1000 requests in ' "$out/bench.out" && echo 1 || echo 0)"

sim missing "$out/no_such_module.dll" "$here/get.txt"
check "missing DLL: exit code 1" "$([ "$rc" = 1 ] && echo 1 || echo 0)"

echo "run.sh: $failures failure(s)"
[ "$failures" = 0 ]
