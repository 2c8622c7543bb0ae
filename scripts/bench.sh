#!/usr/bin/env bash
# bench.sh: the measurements behind "safe costs the same as raw" (bench/, crate httpserv-bench).
#
#   scripts/bench.sh [all|calls|suspend|alloc|sim|sim-async|sim-suspend|tower|rps]   (default: all)
#
#   calls  instructions per call (valgrind --tool=callgrind) of HttpContext::cancel_io,
#          Request::header and Request::known_header against the raw vtable calls they wrap,
#          from bench/src/bin/calls.rs: built with the workspace release profile (as module DLLs
#          are) and again with fat LTO + codegen-units=1. Prints Ir/call and safe/raw ratios.
#   alloc  heap allocations per request (bench/tests/no_alloc.rs, a counting global allocator):
#          asserts our code allocates nothing, prints the figures.
#   sim    httpserv-simulator.exe under Wine (the Rust core, every call through the generated C++
#          shims), side by side: the macro-built cancel-io DLL, the raw cancel-io-raw DLL and the
#          C++ cancel_io_cpp.dll, `--requests N` each, runs alternated; prints every run's
#          requests/s, the medians and the ratios.
#   suspend  callgrind instructions per suspended round trip (bench/src/bin/suspend.rs): the
#          raw module, the `async fn` module woken by a parked waker, and one that yields
#          (httpserv::yield_now). With BENCH_BASELINE=<git rev>, that revision's suspend binary is
#          built (from `git archive`, under $BENCH_OUT/baseline-*) and measured in the same run:
#          before/after figures.
#   sim-async  the suspended round trip (handler, PostCompletion, PENDING, OnAsyncCompletion,
#          CONTINUE) in httpserv-simulator.exe under Wine: the `async fn` module
#          examples/async_yield against the C++ module written by hand with ANCM's lock
#          (simulator/modules/async_yield_cpp.cpp), `--requests N` each, runs alternated;
#          requests/s, medians, ratio rust/cpp (the issue's goal: >= 0.95).
#   sim-suspend  the same suspended round trip through the in-process simulator (bench/examples/
#          sim_suspend.rs; each request resumed on a simulator worker thread): the `async fn`
#          module examples/async_yield against httpserv_bench::suspend_raw, the round trip
#          written by hand on the raw ABI as a C++ module writes it. Instructions per request,
#          server included (callgrind totals of a run of N2 requests minus a run of N1, over
#          N2 - N1: exact, unlike the Wine runs' wall clock), and requests/s of BENCH_RUNS
#          alternated native runs of BENCH_REQUESTS each; ratios raw / async (goal >= 0.95).
#   tower  what httpserv-tower adds per request: httpserv-tower/examples/hello_axum.rs (an axum
#          route through the adapter) against hello_raw.rs (a hand-written #[http_module]
#          writing the same response), both in the in-process simulator, release profile with
#          line tables: instructions per request (callgrind, inclusive Ir of measured_requests
#          / N), heap allocations per request (their counting allocator), and each allocation of
#          one adapter request named by a backtrace (HTTPSERV_TRACE_ALLOCS=1). With
#          BENCH_TOWER_BASE=<commit>, the adapter of that commit is measured too ("before").
#   rps    requests/s of examples/axum_app's /hello served in-process through the simulator
#          against the same router under hyper on loopback reached through a loopback reverse
#          proxy (bench/src/bin/rps.rs), in one run.
#
# Environment: BENCH_OUT (default target/bench), BENCH_CALLS (loop iterations, default
# 1000000), BENCH_REQUESTS (default 200000), BENCH_RUNS (runs per module, default 3),
# HOST_CARGO (default cargo: the host toolchain, run without env.sh's RUSTC/RUSTC_BOOTSTRAP).
# Every command run is printed with a leading "+". Figures are instruction counts and
# allocation counts (exact) and requests/s (wall clock: noisy on a shared machine; compare
# the ratios of runs made in the same invocation, never absolute numbers across machines).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_OUT:-$root/target/bench}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
calls_n="${BENCH_CALLS:-1000000}"
requests="${BENCH_REQUESTS:-200000}"
runs="${BENCH_RUNS:-3}"
HOST_CARGO="${HOST_CARGO:-cargo}"

run() {
    echo "+ $*" >&2
    "$@"
}

# run_to OUT ERR cmd...: as run, with stdout and stderr to files (the "+" line still shown).
run_to() {
    local stdout="$1" stderr="$2"
    shift 2
    echo "+ $* >$stdout 2>$stderr" >&2
    "$@" >"$stdout" 2>"$stderr"
}

# The host toolchain, whatever the calling shell exported for the Windows build.
host_cargo() {
    run env -u RUSTC -u RUSTC_BOOTSTRAP "$HOST_CARGO" "$@"
}

# Inclusive Ir of one function in a callgrind_annotate --inclusive=yes listing.
ir_of() {
    awk -v f="$2" 'index($0, ":" f " [") > 0 { v = $1; gsub(",", "", v); print v; exit }' "$1"
}

calls_variant() {
    local variant="$1" bin
    case "$variant" in
        release)
            host_cargo build --release -p httpserv-bench --bin calls
            bin="$root/target/release/calls"
            ;;
        lto)
            run env CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
                env -u RUSTC -u RUSTC_BOOTSTRAP "$HOST_CARGO" build --release -p httpserv-bench --bin calls \
                --target-dir "$out/lto-target"
            bin="$out/lto-target/release/calls"
            ;;
    esac
    local data="$out/callgrind.$variant.out" listing="$out/callgrind.$variant.txt"
    run_to "$out/calls.$variant.stdout" "$out/callgrind.$variant.log" valgrind --tool=callgrind --callgrind-out-file="$data" "$bin" "$calls_n"
    run_to "$listing" "$out/callgrind.$variant.annotate.err" callgrind_annotate --inclusive=yes --threshold=100 "$data"
    echo
    echo "calls ($variant profile): inclusive instructions per call, N=$calls_n, from $listing"
    printf '  %-36s %12s %12s %9s %12s %14s\n' "call" "raw Ir/call" "safe Ir/call" "safe/raw" "safe-raw" "server Ir/call"
    local row name raw safe server r s v
    for row in "cancel_io:raw_cancel_io:safe_cancel_io:server_cancel_io" \
               "header(\"User-Agent\"):raw_header:safe_header:server_get_header" \
               "known_header(HttpHeaderUserAgent):raw_known_header:safe_known_header:server_get_known_header"; do
        IFS=: read -r name raw safe server <<<"$row"
        r="$(ir_of "$listing" "calls::$raw")"
        s="$(ir_of "$listing" "calls::$safe")"
        v="$(ir_of "$listing" "httpserv_bench::fake::$server")"
        # The server function runs for both loops (plus one sanity call in main): 2N + small.
        awk -v name="$name" -v r="$r" -v s="$s" -v v="$v" -v n="$calls_n" 'BEGIN {
            d = (s - r) / n; if (d > -0.005 && d < 0.005) d = 0
            printf "  %-36s %12.2f %12.2f %9.3f %+12.2f %14.2f\n", name, r / n, s / n, s / r, d, v / (2 * n)
        }'
    done
}

do_calls() {
    command -v valgrind >/dev/null || { echo "bench.sh: valgrind not found" >&2; exit 1; }
    calls_variant release
    calls_variant lto
    echo
    echo "  (raw/safe Ir/call: the whole loop iteration, i.e. black_box + the call as written + the"
    echo "   server function, which is the same function for both; safe-raw: what the safe layer adds)"
}

# suspend_measure LABEL BIN: callgrind of one suspend binary, per-round-trip figures printed.
suspend_measure() {
    local label="$1" bin="$2" n=100000
    local data="$out/suspend.$label.out" listing="$out/suspend.$label.txt"
    run_to "$out/suspend.$label.stdout" "$out/suspend.$label.log" valgrind --tool=callgrind --callgrind-out-file="$data" "$bin" "$n"
    run_to "$listing" "$out/suspend.$label.annotate.err" callgrind_annotate --inclusive=yes --threshold=100 "$data"
    local r a y
    r="$(ir_of "$listing" "suspend::raw_round_trips")"
    a="$(ir_of "$listing" "suspend::async_round_trips")"
    y="$(ir_of "$listing" "suspend::yield_round_trips")"
    echo "suspend ($label): a suspended request's round trip (GetHttpModule, PENDING, PostCompletion, OnAsyncCompletion, Dispose), N=$n, from $listing"
    awk -v r="$r" -v a="$a" -v n="$n" 'BEGIN { printf "  raw module %.1f Ir, async fn module (parked waker) %.1f Ir, async/raw %.2f, async-raw %+.1f Ir per round trip\n", r / n, a / n, a / r, (a - r) / n }'
    if [ -n "$y" ]; then
        awk -v r="$r" -v y="$y" -v n="$n" 'BEGIN { printf "  async fn module (yield_now) %.1f Ir, yield/raw %.2f, yield-raw %+.1f Ir per round trip\n", y / n, y / r, (y - r) / n }'
    fi
}

do_suspend() {
    command -v valgrind >/dev/null || { echo "bench.sh: valgrind not found" >&2; exit 1; }
    if [ -n "${BENCH_BASELINE:-}" ]; then
        local src="$out/baseline-src" rev
        rev="$(git -C "$root" rev-parse --short "$BENCH_BASELINE")"
        rm -rf "$src"
        mkdir -p "$src"
        echo "+ git -C $root archive $rev | tar -x -C $src" >&2
        git -C "$root" archive "$rev" | tar -x -C "$src"
        (cd "$src" && host_cargo build --release -p httpserv-bench --bin suspend --target-dir "$out/baseline-target")
        suspend_measure "before-$rev" "$out/baseline-target/release/suspend"
    fi
    host_cargo build --release -p httpserv-bench --bin suspend
    suspend_measure "this-tree" "$root/target/release/suspend"
}

do_alloc() {
    host_cargo test --release -p httpserv-bench --test no_alloc -- --nocapture --test-threads=1 \
        | tee "$out/no_alloc.txt" | grep -E '^no_alloc:|^test result|FAILED|panicked'
}

do_tower() {
    command -v valgrind >/dev/null || { echo "bench.sh: valgrind not found" >&2; exit 1; }
    local n="${BENCH_TOWER_REQUESTS:-2000}" target="$out/tower-target" ex examples=(hello_raw hello_axum)
    if [ -n "${BENCH_TOWER_BASE:-}" ]; then
        # "Before": this tree with httpserv-tower's src/ and Cargo.toml from BENCH_TOWER_BASE (the
        # same harness and simulator, the adapter as it was), built in a copy, same target dir.
        local base="$out/tower-base-tree"
        rm -rf "$base" && mkdir -p "$base"
        git -C "$root" archive HEAD | tar -x -C "$base"
        rm -rf "$base/httpserv-tower/src"
        git -C "$root" archive "$BENCH_TOWER_BASE" httpserv-tower/src httpserv-tower/Cargo.toml | tar -x -C "$base"
        (cd "$base" && run env CARGO_PROFILE_RELEASE_DEBUG=line-tables-only env -u RUSTC -u RUSTC_BOOTSTRAP "$HOST_CARGO" build --release \
            -p httpserv-tower --example hello_axum --target-dir "$target")
        cp "$target/release/examples/hello_axum" "$target/release/examples/hello_axum_base"
        examples+=(hello_axum_base)
    fi
    run env CARGO_PROFILE_RELEASE_DEBUG=line-tables-only env -u RUSTC -u RUSTC_BOOTSTRAP "$HOST_CARGO" build --release \
        -p httpserv-tower --example hello_axum --example hello_raw --target-dir "$target"
    declare -A ir allocs
    for ex in "${examples[@]}"; do
        local data="$out/tower.$ex.out" listing="$out/tower.$ex.txt"
        run_to "$out/tower.$ex.stdout" "$out/tower.$ex.log" valgrind --tool=callgrind --callgrind-out-file="$data" "$target/release/examples/$ex" "$n"
        run_to "$listing" "$out/tower.$ex.annotate.err" callgrind_annotate --inclusive=yes --threshold=100 "$data"
        ir[$ex]="$(ir_of "$listing" "${ex%_base}::common::measured_requests")"
        [ -n "${ir[$ex]}" ] || { echo "bench.sh: no measured_requests in $listing" >&2; exit 1; }
        # Allocations: natively (faster than under valgrind; the counting allocator is exact).
        run_to "$out/tower.$ex.allocs" "$out/tower.$ex.allocs.err" env HTTPSERV_TRACE_ALLOCS=1 "$target/release/examples/$ex" "$n"
        allocs[$ex]="$(sed -n 's/.* requests, \([0-9.]*\) allocations and.*/\1/p' "$out/tower.$ex.allocs")"
    done
    echo "tower: one GET / answered \"Hello, world!\" (text/plain), N=$n in the in-process simulator, per request (simulator included in both)"
    awk -v r="${ir[hello_raw]}" -v a="${ir[hello_axum]}" -v n="$n" -v ra="${allocs[hello_raw]}" -v aa="${allocs[hello_axum]}" 'BEGIN {
        printf "  hand-written #[http_module]: %10.0f Ir  %6.2f allocations\n", r / n, ra
        printf "  axum through httpserv-tower: %10.0f Ir  %6.2f allocations\n", a / n, aa
        printf "  adapter/raw %.2fx instructions, %+.0f Ir, %+.2f allocations per request\n", a / r, (a - r) / n, aa - ra
    }'
    if [ -n "${BENCH_TOWER_BASE:-}" ]; then
        awk -v r="${ir[hello_raw]}" -v a="${ir[hello_axum_base]}" -v n="$n" -v ra="${allocs[hello_raw]}" -v aa="${allocs[hello_axum_base]}" -v c="$BENCH_TOWER_BASE" 'BEGIN {
            printf "  before (httpserv-tower of %s): %10.0f Ir  %6.2f allocations; adapter/raw %.2fx, %+.0f Ir, %+.2f allocations\n", c, a / n, aa, a / r, (a - r) / n, aa - ra
        }'
    fi
    echo "  where the instructions go, inclusive Ir per request (the largest entry of each function in"
    echo "  $out/tower.*.txt; IIS calls are the simulator's thunks, httpserv_testing::thunk::guard):"
    printf '    %-58s %10s %10s\n' "function" "raw" "adapter"
    local f
    for f in "httpserv_testing::TestServer::send" \
             "httpserv::bridge::module::OnExecuteRequestHandler" \
             "httpserv_testing::thunk::guard" \
             "httpserv::bridge::task::start" \
             "httpserv::context::HttpContext::allocate_request_memory" \
             "httpserv::bridge::disconnect::watch" \
             "httpserv_tower::build_request" \
             "httpserv::request::Request::raw_request" \
             "httpserv::request::Request::method" \
             "httpserv_tower::send_head" \
             "axum::routing::Router<S>::call_with_state"; do
        awk -v f="$f" -v n="$n" -v name="$f" '
            FILENAME != last { file++; last = FILENAME }
            {
                i = index($0, ":" f)
                if (i > 0) {
                    rest = substr($0, i + 1 + length(f), 1)
                    if (rest == " " || rest == "") { v = $1; gsub(",", "", v); if (v + 0 > max[file]) max[file] = v + 0 }
                }
            }
            END { printf "    %-58s %10.0f %10.0f\n", name, max[1] / n, max[2] / n }' "$out/tower.hello_raw.txt" "$out/tower.hello_axum.txt"
    done
    echo "  allocation sites of one adapter request ($out/tower.hello_axum.allocs):"
    sed -n '/^allocation sites/,$p' "$out/tower.hello_axum.allocs" | sed 's/^/  /'
}

do_rps() {
    local seconds="${BENCH_RPS_SECONDS:-3}" connections="${BENCH_RPS_CONNECTIONS:-4}"
    host_cargo build --release -p httpserv-bench --example rps
    run_to "$out/rps.txt" "$out/rps.err" "$root/target/release/examples/rps" "$seconds" "$connections"
    echo "rps: examples/axum_app GET /hello, in-process through the IIS simulator against hyper behind a loopback reverse proxy (from $out/rps.txt)"
    sed 's/^rps: /  /' "$out/rps.txt"
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

do_sim() (
    # shellcheck source=scripts/env.sh
    . "$root/scripts/env.sh"
    run "$root/scripts/build-windows.sh" x64 >&2
    local dir="$root/target/e2e" m rc
    local sim="$dir/httpserv-simulator.exe"
    local modules=(cancel_io cancel_io_raw cancel_io_cpp)
    # Sanity: each module must cancel I/O in OnSendResponse (one request through the door protocol).
    for m in "${modules[@]}"; do
        rc=0
        echo '{"command":"send","request":{"method":"GET","url":"/index.html","headers":[["User-Agent","httpserv-rs-simulator"]],"body":[],"remote":"127.0.0.1:50000","local":"127.0.0.1:80","version":[1,1],"user":null}}' \
            | run_to "$out/sim.$m.transcript" "$out/sim.$m.err" wine "$sim" "$dir/$m.dll" || rc=$?
        if [ "$rc" != 0 ] || ! grep -q 'IHttpContext::CancelIo' "$out/sim.$m.transcript"; then
            echo "bench.sh: $m: exit $rc or no CancelIo call; see $out/sim.$m.transcript" >&2
            exit 1
        fi
    done
    local i
    for ((i = 1; i <= runs; i++)); do
        for m in "${modules[@]}"; do
            rc=0
            run_to "$out/sim.$m.$i.out" "$out/sim.$m.$i.err" wine "$sim" "$dir/$m.dll" --requests "$requests" </dev/null || rc=$?
            if [ "$rc" != 0 ] || ! grep -q '^bench:' "$out/sim.$m.$i.out"; then
                echo "bench.sh: $m run $i: exit $rc; see $out/sim.$m.$i.out and .err" >&2
                exit 1
            fi
            grep '^bench:' "$out/sim.$m.$i.out" | sed "s/^/  $m run $i: /" >&2
        done
    done
    echo
    echo "sim: httpserv-simulator.exe --requests $requests (GET /index.html, the Rust core behind the C++ shims), $runs runs per module alternated, requests/s"
    declare -A med
    for m in "${modules[@]}"; do
        local values=()
        for ((i = 1; i <= runs; i++)); do
            values+=("$(tr -d '\r' <"$out/sim.$m.$i.out" | sed -n 's/^bench: [0-9]* requests, [0-9.]* ms, \([0-9.]*\) requests\/s.*$/\1/p')")
        done
        med[$m]="$(printf '%s\n' "${values[@]}" | median)"
        printf '  %-14s runs: %s   median: %s\n' "$m" "${values[*]}" "${med[$m]}"
    done
    awk -v rust="${med[cancel_io]}" -v raw="${med[cancel_io_raw]}" -v cpp="${med[cancel_io_cpp]}" 'BEGIN {
        printf "  ratio macro-built rust / cpp = %.3f   raw rust / cpp = %.3f   macro / raw = %.3f\n", rust / cpp, raw / cpp, rust / raw
    }'
)

# sim_runs MODULE...: BENCH_RUNS alternated `--requests N` runs of each module; prints each run and
# the medians, and leaves the medians in the associative arrays `med` (wall clock requests/s) and
# `cpu` (requests per CPU second of the request thread), declared by the caller.
sim_runs() {
    local dir="$root/target/e2e" m rc i
    local sim="$dir/httpserv-simulator.exe"
    for ((i = 1; i <= runs; i++)); do
        for m in "$@"; do
            rc=0
            run_to "$out/sim.$m.$i.out" "$out/sim.$m.$i.err" wine "$sim" "$dir/$m.dll" --requests "$requests" </dev/null || rc=$?
            if [ "$rc" != 0 ] || ! grep -q '^bench:' "$out/sim.$m.$i.out"; then
                echo "bench.sh: $m run $i: exit $rc; see $out/sim.$m.$i.out and .err" >&2
                exit 1
            fi
            grep '^bench:' "$out/sim.$m.$i.out" | sed "s/^/  $m run $i: /" >&2
        done
    done
    echo "  wall clock, requests/s:"
    for m in "$@"; do
        local values=()
        for ((i = 1; i <= runs; i++)); do
            values+=("$(tr -d '\r' <"$out/sim.$m.$i.out" | sed -n 's/^bench: [0-9]* requests, [0-9.]* ms, \([0-9.]*\) requests\/s.*$/\1/p')")
        done
        med[$m]="$(printf '%s\n' "${values[@]}" | median)"
        printf '    %-16s runs: %s   median: %s\n' "$m" "${values[*]}" "${med[$m]}"
    done
    echo "  the request thread's CPU time, requests/cpu-s (GetThreadTimes: less disturbed by other load):"
    for m in "$@"; do
        local values=()
        for ((i = 1; i <= runs; i++)); do
            values+=("$(tr -d '\r' <"$out/sim.$m.$i.out" | sed -n 's/^bench: .* ms cpu, \([0-9.]*\) requests\/cpu-s$/\1/p')")
        done
        cpu[$m]="$(printf '%s\n' "${values[@]}" | median)"
        printf '    %-16s runs: %s   median: %s\n' "$m" "${values[*]}" "${cpu[$m]}"
    done
}

do_sim_async() (
    # shellcheck source=scripts/env.sh
    . "$root/scripts/env.sh"
    run "$root/scripts/build-windows.sh" x64 >&2
    local dir="$root/target/e2e" m rc
    local sim="$dir/httpserv-simulator.exe"
    local modules=(async_yield async_yield_cpp)
    # Sanity: each module must suspend once (PostCompletion, PENDING, OnAsyncCompletion).
    for m in "${modules[@]}"; do
        rc=0
        echo '{"command":"send","request":{"method":"GET","url":"/index.html","headers":[],"body":[],"remote":"127.0.0.1:50000","local":"127.0.0.1:80","version":[1,1],"user":null}}' \
            | run_to "$out/sim.$m.transcript" "$out/sim.$m.err" wine "$sim" "$dir/$m.dll" || rc=$?
        if [ "$rc" != 0 ] || ! grep -q 'IHttpContext::PostCompletion' "$out/sim.$m.transcript" \
            || ! grep -q 'RQ_NOTIFICATION_PENDING' "$out/sim.$m.transcript" || ! grep -q 'OnAsyncCompletion' "$out/sim.$m.transcript"; then
            echo "bench.sh: $m: exit $rc or no suspended round trip; see $out/sim.$m.transcript" >&2
            exit 1
        fi
    done
    echo
    echo "sim-async: httpserv-simulator.exe --requests $requests (GET /index.html: OnExecuteRequestHandler posts a completion and returns PENDING, OnAsyncCompletion returns CONTINUE), $runs runs per module alternated, requests/s"
    declare -A med cpu
    sim_runs "${modules[@]}"
    awk -v rust="${med[async_yield]}" -v cpp="${med[async_yield_cpp]}" -v rc="${cpu[async_yield]}" -v cc="${cpu[async_yield_cpp]}" 'BEGIN {
        printf "  ratio async fn rust / hand-written cpp: wall clock %.3f, cpu time %.3f   (goal >= 0.95)\n", rust / cpp, rc / cc
    }'
)

do_sim_suspend() {
    local n1="${BENCH_SUSPEND_N1:-2000}" n2="${BENCH_SUSPEND_N2:-12000}" m n i
    host_cargo build --release -p httpserv-bench --example sim_suspend
    local bin="$root/target/release/examples/sim_suspend"
    declare -A ir rps
    for m in raw async; do
        local total=()
        for n in "$n1" "$n2"; do
            run_to "$out/sim_suspend.$m.$n.stdout" "$out/sim_suspend.$m.$n.log" \
                valgrind --tool=callgrind --callgrind-out-file="$out/sim_suspend.$m.$n.out" "$bin" "$m" "$n"
            total+=("$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$out/sim_suspend.$m.$n.log")")
        done
        ir[$m]="$(awk -v a="${total[0]}" -v b="${total[1]}" -v n="$((n2 - n1))" 'BEGIN { printf "%.0f", (b - a) / n }')"
    done
    for ((i = 1; i <= runs; i++)); do
        for m in raw async; do
            run_to "$out/sim_suspend.$m.run$i.out" "$out/sim_suspend.$m.run$i.err" "$bin" "$m" "$requests"
            sed 's/^/  /' "$out/sim_suspend.$m.run$i.out" >&2
        done
    done
    echo "sim-suspend: the suspended round trip (handler, PostCompletion, PENDING, OnAsyncCompletion on a worker thread, CONTINUE) through the in-process simulator, async fn module (examples/async_yield) against the hand-written raw-ABI one (httpserv_bench::suspend_raw)"
    for m in raw async; do
        local values=()
        for ((i = 1; i <= runs; i++)); do
            values+=("$(sed -n 's/^sim_suspend: .* ms, \([0-9]*\) requests\/s$/\1/p' "$out/sim_suspend.$m.run$i.out")")
        done
        rps[$m]="$(printf '%s\n' "${values[@]}" | median)"
        printf '  %-6s instructions per request (callgrind, (Ir of %s requests - Ir of %s) / %s): %s   requests/s of %s runs: %s   median: %s\n' \
            "$m" "$n2" "$n1" "$((n2 - n1))" "${ir[$m]}" "$runs" "${values[*]}" "${rps[$m]}"
    done
    awk -v ra="${ir[raw]}" -v aa="${ir[async]}" -v rr="${rps[raw]}" -v ar="${rps[async]}" 'BEGIN {
        printf "  ratio async fn / hand-written: instructions raw/async %.3f (+%d Ir per request), requests/s async/raw %.3f   (goal >= 0.95)\n", ra / aa, aa - ra, ar / rr
    }'
}

case "${1:-all}" in
    calls) do_calls ;;
    suspend) do_suspend ;;
    alloc) do_alloc ;;
    sim) do_sim ;;
    tower) do_tower ;;
    rps) do_rps ;;
    sim-async) do_sim_async ;;
    sim-suspend) do_sim_suspend ;;
    all)
        do_calls
        echo
        do_suspend
        echo
        do_alloc
        echo
        do_sim
        echo
        do_sim_async
        echo
        do_sim_suspend
        echo
        do_tower
        echo
        do_rps
        ;;
    *)
        echo "usage: scripts/bench.sh [all|calls|suspend|alloc|sim|sim-async|sim-suspend|tower|rps]" >&2
        exit 1
        ;;
esac
