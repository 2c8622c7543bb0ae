#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the toolchain (idempotent),
# runs every host test (layout vs clang, generator drift, safe API through the Rust test server,
# examples, macro UI tests, and the end-to-end tests: every example in-process and as a DLL through
# httpserv-simulator.exe under Wine, compared), the examples' tests again through their DLLs, the
# x86 pass (the e2e tests and the examples' tests again through 32-bit DLLs and a 32-bit simulator
# under 32-bit Wine), the test-server suites under valgrind, then type-checks the crates for
# Windows x86_64 and i686 (and aarch64, see below).
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
# httpserv without its default `http` feature still builds (the interop methods are cfg'd out).
echo "== cargo check -p httpserv --no-default-features"
"${HOST_CARGO[@]}" check -p httpserv --no-default-features --lib

# The examples' own tests again, through their DLLs (TestServer::for_module with HTTPSERV_DOOR=dll:
# httpserv-simulator.exe under Wine); tests that need the in-process door stay in-process.
scripts/build-windows.sh x64 >/dev/null 2>&1 || scripts/build-windows.sh x64
example_packages=()
for manifest in examples/*/Cargo.toml; do
    example_packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
done
echo "== the examples' tests through the DLL door"
HTTPSERV_DOOR=dll HTTPSERV_DLL_DIR="$PWD/target/e2e" HTTPSERV_SIMULATOR="$PWD/target/e2e/httpserv-simulator.exe" \
    WINEPREFIX="$PWD/target/wineprefix" "${HOST_CARGO[@]}" test "${example_packages[@]}" --tests

# The x86 pass: the same DLL-door tests with everything 32-bit (i686 DLLs, Rust and C++, and an i686
# httpserv-simulator.exe whose shims clang compiled for i686-pc-windows-msvc, so every call between
# them is a real MSVC thiscall) under 32-bit Wine. A prefix of its own: one created before
# wine32 was installed cannot run 32-bit programs ("could not load kernel32.dll").
x86_started=$SECONDS
scripts/build-windows.sh x86 >/dev/null 2>&1 || scripts/build-windows.sh x86
e2e_tests=()
for test in tests/e2e_*.rs; do
    e2e_tests+=(--test "$(basename "${test%.rs}")")
done
echo "== x86: the e2e tests (both doors compared, the DLL door 32-bit)"
HTTPSERV_E2E_ARCH=x86 WINEPREFIX="$PWD/target/wineprefix-x86" "${HOST_CARGO[@]}" test -p httpserv-e2e "${e2e_tests[@]}"
echo "== x86: the examples' tests through the 32-bit DLL door"
HTTPSERV_DOOR=dll HTTPSERV_DLL_DIR="$PWD/target/e2e-x86" HTTPSERV_SIMULATOR="$PWD/target/e2e-x86/httpserv-simulator.exe" \
    WINEPREFIX="$PWD/target/wineprefix-x86" "${HOST_CARGO[@]}" test "${example_packages[@]}" --tests
echo "== x86 pass: $((SECONDS - x86_started)) s"

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
    # ARM64 (IIS on Windows on ARM): the two library crates type-check for both aarch64 Windows
    # targets (no DLL: Debian 12 has no aarch64 Windows linker, and no Wine to run one on x86_64).
    for target in aarch64-pc-windows-gnullvm aarch64-pc-windows-msvc; do
        echo "== cargo check --target $target"
        "$WIN_CARGO" check $WIN_BUILD_STD --target "$target" --target-dir "$WIN_TARGET_DIR" -p httpserv-sys -p httpserv
    done
)
echo "scripts/test.sh: all passed"
