#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the toolchain (idempotent),
# runs every host test (layout vs clang, generator drift, safe API through the Rust test server,
# examples, macro UI tests, and the end-to-end tests: every example in-process and as a DLL through
# httpserv-simulator.exe under Wine, compared), the examples' tests again through their DLLs, the
# test-server suites under valgrind, then type-checks the crates for Windows x86_64 and i686.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-toolchain.sh

# The host toolchain: rustup's cargo when present, else Debian's.
if command -v cargo >/dev/null 2>&1 && [ "$(command -v cargo)" != /usr/bin/cargo ]; then
    HOST_CARGO=(cargo)
else
    HOST_CARGO=(env RUSTC=/usr/bin/rustc /usr/bin/cargo)
fi

"${HOST_CARGO[@]}" test --workspace --all-targets
"${HOST_CARGO[@]}" test --workspace --doc

# The examples' own tests again, through their DLLs (TestServer::for_module with HTTPSERV_DOOR=dll:
# httpserv-simulator.exe under Wine); tests that need the in-process door stay in-process.
scripts/build-windows.sh >/dev/null 2>&1 || scripts/build-windows.sh
example_packages=()
for manifest in examples/*/Cargo.toml; do
    example_packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
done
echo "== the examples' tests through the DLL door"
HTTPSERV_DOOR=dll HTTPSERV_DLL_DIR="$PWD/target/e2e" HTTPSERV_SIMULATOR="$PWD/target/e2e/httpserv-simulator.exe" \
    WINEPREFIX="$PWD/target/wineprefix" "${HOST_CARGO[@]}" test "${example_packages[@]}" --tests

# The test-server suites under valgrind: any memcheck error or definite leak fails.
scripts/valgrind.sh

# Windows type checks (the Debian compiler builds std from source; no linking needed).
(
    . scripts/env.sh
    # cargo-httpserv: its Windows code paths (MSVC build, appcmd install) only compile there.
    packages=(-p httpserv-sys -p httpserv -p cargo-httpserv)
    for manifest in examples/*/Cargo.toml; do
        packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
    done
    for target in x86_64-pc-windows-gnu i686-pc-windows-gnu; do
        echo "== cargo check --target $target"
        "$WIN_CARGO" check $WIN_BUILD_STD --target "$target" --target-dir "$WIN_TARGET_DIR" "${packages[@]}"
    done
)
echo "scripts/test.sh: all passed"
