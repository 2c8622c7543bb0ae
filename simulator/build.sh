#!/usr/bin/env bash
# build.sh: builds the C++ test modules in simulator/modules/ (cancel_io_cpp.dll, the seed's C++
# module and the benchmark baseline; exercise_cpp.dll, which drives most of the API by ?mode=;
# async_yield_cpp.dll, the suspended round trip by hand, the async benchmark baseline)
# into an output directory (default: target/simulator at the workspace root).
#
#   simulator/build.sh [OUT_DIR]
#   SIM_ARCH=x86 simulator/build.sh [OUT_DIR]     32-bit: i686-pc-windows-msvc, i686 mingw link
#
# Compiling is clang++ for the MSVC C++ ABI against mingw-w64's headers (so vtables and `this`
# passing are what IIS and MSVC-built modules use); linking is the mingw-w64 g++ driver, which
# brings the import libraries and msvcrt. A module is rebuilt only when its source, .def or
# httpserv.h is newer; every command run is printed. (httpserv-simulator.exe itself is built by
# cargo: simulator/build.rs compiles the shims.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$root/target/simulator}"
mkdir -p "$out/obj"
out="$(cd "$out" && pwd)"

arch_defines=()
case "${SIM_ARCH:-x64}" in
    x64) clang_target=x86_64-pc-windows-msvc mingw=x86_64-w64-mingw32 ;;
    x86) clang_target=i686-pc-windows-msvc mingw=i686-w64-mingw32 arch_defines=(-D_X86_) ;;
    *) echo "build.sh: SIM_ARCH must be x64 or x86, not $SIM_ARCH" >&2; exit 1 ;;
esac
CXX="${SIM_CLANGXX:-clang++}"
LINK="${SIM_MINGW_CXX:-$mingw-g++}"
MINGW_INCLUDE="${SIM_MINGW_INCLUDE:-/usr/share/mingw-w64/include}"

# -fgnuc-version makes mingw-w64's headers take their GCC paths; -fno-threadsafe-statics keeps
# clang from calling the MSVC runtime's _Init_thread_* (no MSVC runtime here).
CXXFLAGS=(
    --target=$clang_target
    -fgnuc-version=4.2.1
    -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -O2 -Wall -Wno-unused-private-field -Wno-overloaded-virtual
    -isystem "$MINGW_INCLUDE"
    -I "$root/httpserv-sys/include"
    "${arch_defines[@]}"
)
# On x86 the .def's `RegisterModule` is the __stdcall `_RegisterModule@12`: exported undecorated
# (what IIS's GetProcAddress asks for) by ld's stdcall fixup, enabled explicitly to say so.
LDFLAGS=(-static-libgcc -static-libstdc++ -Wl,--enable-stdcall-fixup)

run() {
    echo "+ $*"
    "$@"
}

header="$root/httpserv-sys/include/httpserv.h"
for src in "$here"/modules/*.cpp; do
    name="$(basename "${src%.cpp}")"
    obj="$out/obj/$name.obj"
    def="${src%.cpp}.def"
    dll="$out/$name.dll"
    if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ] || [ "$def" -nt "$dll" ] || [ "$header" -nt "$dll" ]; then
        run "$CXX" "${CXXFLAGS[@]}" -c "$src" -o "$obj"
        run "$LINK" -shared -o "$dll" "$obj" "$def" "${LDFLAGS[@]}"
    fi
done

echo "build.sh: $(cd "$out" && ls ./*.dll | tr '\n' ' ')"
