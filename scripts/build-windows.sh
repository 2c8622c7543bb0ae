#!/usr/bin/env bash
# Cross-builds everything the DLL-door tests run under Wine into target/e2e/:
#   httpserv-simulator.exe  the DLL front door: the Rust core behind generated MSVC-ABI C++ shims
#   <example>.dll       every example module crate, built for x86_64-pc-windows-gnu
#   cancel_io_cpp.dll   the seed module in C++ (simulator/modules), the benchmark baseline
#   exercise_cpp.dll    the C++ test module that drives most of the API by ?mode= (simulator/modules)
#   bcryptprimitives.dll  Wine 8 lacks it and Rust's std imports it (test scaffolding only): the
#                       exe, and so every Rust DLL it loads, finds it in the exe's directory
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

scripts/install-toolchain.sh >/dev/null
. scripts/env.sh

packages=(-p httpserv-simulator)
for manifest in examples/*/Cargo.toml; do
    packages+=(-p "$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)")
done

"$WIN_CARGO" build --release $WIN_BUILD_STD --target "$WIN_TARGET" --target-dir "$WIN_TARGET_DIR" "${packages[@]}"

out="$root/target/e2e"
mkdir -p "$out"
release="$WIN_TARGET_DIR/$WIN_TARGET/release"
cp "$release/httpserv-simulator.exe" "$out/"
for manifest in examples/*/Cargo.toml; do
    lib="$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1 | tr - _)"
    cp "$release/$lib.dll" "$out/"
done

simulator/build.sh "$root/target/simulator" >/dev/null
cp "$root/target/simulator/cancel_io_cpp.dll" "$root/target/simulator/exercise_cpp.dll" "$out/"

if [ ! -f "$out/bcryptprimitives.dll" ] || [ e2e/support/processprng/processprng.c -nt "$out/bcryptprimitives.dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$out/bcryptprimitives.dll" \
        e2e/support/processprng/processprng.c e2e/support/processprng/bcryptprimitives.def -ladvapi32
fi
echo "build-windows.sh: $(cd "$out" && ls | tr '\n' ' ')"
