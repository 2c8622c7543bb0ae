#!/usr/bin/env bash
# Cross-builds everything the DLL-door tests run under Wine, per architecture:
#   scripts/build-windows.sh [x64] [x86]      (default: both)
# x64 into target/e2e/ (x86_64-pc-windows-gnu), x86 into target/e2e-x86/ (i686-pc-windows-gnu):
#   httpserv-simulator.exe  the DLL front door: the Rust core behind generated MSVC-ABI C++ shims
#                       (clang --target=<arch>-pc-windows-msvc: on x86 every call between exe and
#                       module is a real MSVC thiscall)
#   <example>.dll       every example module crate
#   panicking.dll       a module that panics (e2e/support/panicking, for tests/e2e_panics.rs)
#   extended_api.dll    calls the methods wrapped for issue 12 (e2e/support/extended_api)
#   child_request.dll   a child request through ExecuteRequest (e2e/support/child_request)
#   cancel_io_cpp.dll   the seed module in C++ (simulator/modules), the benchmark baseline
#   exercise_cpp.dll    the C++ test module that drives most of the API by ?mode= (simulator/modules)
#   async_yield_cpp.dll the suspended round trip by hand in C++ (simulator/modules), the async
#                       benchmark baseline
#   bcryptprimitives.dll  Wine 8 lacks it and Rust's std imports it (test scaffolding only): the
#                       exe, and so every Rust DLL it loads, finds it in the exe's directory
# Every DLL must export `RegisterModule` undecorated (IIS looks that name up); checked at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

arches=("$@")
[ "${#arches[@]}" -gt 0 ] || arches=(x64 x86)

scripts/install-toolchain.sh >/dev/null
. scripts/env.sh

packages=(-p httpserv-simulator)
libs=()
# e2e/support/panicking: the test module of tests/e2e_panics.rs; e2e/support/extended_api: of
# tests/e2e_extended_api.rs; e2e/support/child_request: of tests/e2e_child_request.rs.
for manifest in examples/*/Cargo.toml e2e/support/panicking/Cargo.toml e2e/support/extended_api/Cargo.toml e2e/support/child_request/Cargo.toml; do
    name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -n1)"
    packages+=(-p "$name")
    libs+=("$(echo "$name" | tr - _)")
done

# i686 Windows GNU links rsbegin.o/rsend.o (they register the DWARF unwind tables, which
# panic = "unwind" needs there); -Zbuild-std does not produce them. Compiled from std's source
# once per compiler, cached under target/rtstartup/<hash of rustc -vV>/.
rtstartup_dir() {
    local key dir src=/usr/lib/rustlib/src/rust/library/rtstartup
    key="$(/usr/bin/rustc -vV | sha256sum | cut -c1-16)"
    dir="$root/target/rtstartup/$key"
    if [ ! -f "$dir/rsbegin.o" ] || [ ! -f "$dir/rsend.o" ]; then
        mkdir -p "$dir"
        for name in rsbegin rsend; do
            RUSTC_BOOTSTRAP=1 /usr/bin/rustc --target i686-pc-windows-gnu --emit=obj -C panic=abort -O \
                --crate-type=lib -o "$dir/$name.o.tmp" "$src/$name.rs"
            mv "$dir/$name.o.tmp" "$dir/$name.o"
        done
        /usr/bin/rustc -vV >"$dir/rustc-vV.txt"
    fi
    echo "$dir"
}

build_arch() {
    local arch="$1" triple mingw out rustflags=""
    case "$arch" in
        x64) triple=x86_64-pc-windows-gnu mingw=x86_64-w64-mingw32 out="$root/target/e2e" ;;
        x86) triple=i686-pc-windows-gnu mingw=i686-w64-mingw32 out="$root/target/e2e-x86"
             rustflags="-L native=$(rtstartup_dir)" ;;
        *) echo "build-windows.sh: unknown architecture $arch (x64 or x86)" >&2; return 1 ;;
    esac
    # RUSTFLAGS only for this build (with --target it does not reach build scripts).
    RUSTFLAGS="$rustflags" "$WIN_CARGO" build --release $WIN_BUILD_STD --target "$triple" \
        --target-dir "$WIN_TARGET_DIR" "${packages[@]}"

    mkdir -p "$out"
    local release="$WIN_TARGET_DIR/$triple/release" lib
    cp "$release/httpserv-simulator.exe" "$out/"
    for lib in "${libs[@]}"; do
        cp "$release/$lib.dll" "$out/"
    done

    local sim="$root/target/simulator"
    [ "$arch" = x64 ] || sim="$root/target/simulator-$arch"
    SIM_ARCH="$arch" simulator/build.sh "$sim" >/dev/null
    cp "$sim/cancel_io_cpp.dll" "$sim/exercise_cpp.dll" "$sim/async_yield_cpp.dll" "$out/"

    if [ ! -f "$out/bcryptprimitives.dll" ] || [ e2e/support/processprng/processprng.c -nt "$out/bcryptprimitives.dll" ]; then
        # On x86 the .def's ProcessPrng is the __stdcall _ProcessPrng@8 (stdcall fixup).
        "$mingw-gcc" -O2 -shared -s -Wl,--enable-stdcall-fixup -o "$out/bcryptprimitives.dll" \
            e2e/support/processprng/processprng.c e2e/support/processprng/bcryptprimitives.def -ladvapi32
    fi

    # IIS calls GetProcAddress(module, "RegisterModule"): a decorated _RegisterModule@12 (what
    # __stdcall names become on x86) would not be found.
    local dll exports
    for dll in "${libs[@]}" cancel_io_cpp exercise_cpp async_yield_cpp; do
        exports="$("$mingw-objdump" -p "$out/$dll.dll" | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p')"
        if ! grep -Eq '^\s*\[ *[0-9]+\] RegisterModule$' <<<"$exports"; then
            echo "build-windows.sh: $out/$dll.dll does not export RegisterModule undecorated:" >&2
            echo "$exports" >&2
            return 1
        fi
    done
    echo "build-windows.sh: $arch: $(cd "$out" && ls | tr '\n' ' ')"
}

for arch in "${arches[@]}"; do
    build_arch "$arch"
done
