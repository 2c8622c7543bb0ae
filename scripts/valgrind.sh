#!/usr/bin/env bash
# Runs the test-server suites under valgrind (memcheck) and fails on any error: the test
# binaries of httpserv, httpserv-testing and the examples (found with `cargo test --no-run
# --message-format=json`), each under
#
#   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
#
# so invalid reads/writes, uses of uninitialised values, bad frees and definite leaks fail the
# run; "possibly lost" and "still reachable" blocks (thread-locals, the test harness's threads,
# catch_unwind payloads) are reported but not errors. Suppressions, if ever needed, go in
# scripts/valgrind.supp with a comment each saying why (none is needed today).
#
#   scripts/valgrind.sh              every suite (about 2-3 minutes on 2 cores)
#   VALGRIND_FILTER=name scripts/valgrind.sh    only tests whose name contains `name`
#
# Tests run one at a time (RUST_TEST_THREADS=1) except in the concurrency suite, which starts
# its own threads. Doctests and the Wine end-to-end runs are not included.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind is not installed (scripts/install-toolchain.sh installs it)" >&2
    exit 1
fi

if command -v cargo >/dev/null 2>&1 && [ "$(command -v cargo)" != /usr/bin/cargo ]; then
    HOST_CARGO=(cargo)
else
    HOST_CARGO=(env RUSTC=/usr/bin/rustc /usr/bin/cargo)
fi

# httpserv-bench: its tests are the async hard cases on fake IIS objects (early completions
# racing the notification, 10,000 pending requests, allocation counts); they run smaller under
# valgrind (HTTPSERV_UNDER_VALGRIND, HTTPSERV_MANY_PENDING below).
packages=(-p httpserv -p httpserv-testing -p httpserv-bench)
for manifest in examples/*/Cargo.toml; do
    packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
done

# The test executables (lib unit tests and tests/*.rs), one path a line.
mapfile -t binaries < <(
    "${HOST_CARGO[@]}" test --no-run --message-format=json "${packages[@]}" 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])
'
)
if [ "${#binaries[@]}" -eq 0 ]; then
    echo "valgrind.sh: no test binaries found (does \`cargo test --no-run\` build?)" >&2
    exit 1
fi

# --fair-sched=yes: valgrind runs one thread at a time, and its default lock lets a thread that
# spins without a system call (the completer threads of the bench tests) keep it for long
# stretches; early_yield took over 10 minutes that way once a module lock was added, 4 s with
# the fair (ticket) lock.
VALGRIND=(valgrind --tool=memcheck --error-exitcode=1 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=no
    --num-callers=30 --fair-sched=yes --quiet)
if [ -f scripts/valgrind.supp ]; then
    VALGRIND+=(--suppressions=scripts/valgrind.supp)
fi

logdir=target/valgrind
mkdir -p "$logdir"
failed=()
start=$SECONDS
for bin in "${binaries[@]}"; do
    name=$(basename "$bin")
    log="$logdir/$name.log"
    args=(--quiet)
    if [ -n "${VALGRIND_FILTER:-}" ]; then
        args+=("$VALGRIND_FILTER")
    fi
    t0=$SECONDS
    # Panics are expected in some tests (should_panic); keep their backtraces short.
    if HTTPSERV_UNDER_VALGRIND=1 HTTPSERV_MANY_PENDING=200 RUST_TEST_THREADS=1 RUST_BACKTRACE=0 "${VALGRIND[@]}" --log-file="$log" "$bin" "${args[@]}" >"$log.out" 2>&1; then
        echo "ok   $name ($((SECONDS - t0)) s)"
    else
        rc=$?
        errors=$(grep -m1 -o 'ERROR SUMMARY: [0-9]*' "$log" || true)
        echo "FAIL $name (exit $rc${errors:+, $errors}; see $log and $log.out)"
        failed+=("$name")
    fi
done
echo "valgrind.sh: ${#binaries[@]} binaries in $((SECONDS - start)) s, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ "${#failed[@]}" -eq 0 ]
