#!/usr/bin/env bash
# build.sh: builds the IIS simulator (sim.exe) and the C++ modules in simulator/modules/ into an
# output directory (default: target/simulator at the workspace root).
#
#   simulator/build.sh [OUT_DIR]
#
# Compiling is clang++ for the MSVC C++ ABI against mingw-w64's headers (so vtables and `this`
# passing are what IIS and MSVC-built modules use); linking is the mingw-w64 g++ driver, which
# brings the import libraries and msvcrt. Objects are rebuilt only when a source or header is
# newer, so running it again is cheap; every command run is printed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$root/target/simulator}"
mkdir -p "$out/obj"
out="$(cd "$out" && pwd)"

CXX="${SIM_CLANGXX:-clang++}"
LINK="${SIM_MINGW_CXX:-x86_64-w64-mingw32-g++}"
MINGW_INCLUDE="${SIM_MINGW_INCLUDE:-/usr/share/mingw-w64/include}"

# -fgnuc-version makes mingw-w64's headers take their GCC paths; -fno-threadsafe-statics keeps
# clang from calling the MSVC runtime's _Init_thread_* (no MSVC runtime here).
CXXFLAGS=(
    --target=x86_64-pc-windows-msvc
    -fgnuc-version=4.2.1
    -fno-exceptions -fno-rtti -fno-threadsafe-statics
    -O2 -Wall -Wno-unused-private-field -Wno-overloaded-virtual
    -isystem "$MINGW_INCLUDE"
    -I "$root/httpserv-sys/include"
)
LDFLAGS=(-static-libgcc -static-libstdc++)

run() {
    echo "+ $*"
    "$@"
}

# An object is stale when it is missing or older than its source or any header it may include.
headers=("$here"/src/*.h "$root/httpserv-sys/include/httpserv.h")
stale() {
    local obj="$1" src="$2" h
    [ -f "$obj" ] || return 0
    [ "$src" -nt "$obj" ] && return 0
    for h in "${headers[@]}"; do
        [ "$h" -nt "$obj" ] && return 0
    done
    return 1
}

objs=()
relink=0
for src in "$here"/src/*.cpp; do
    obj="$out/obj/sim-$(basename "${src%.cpp}").obj"
    if stale "$obj" "$src"; then
        run "$CXX" "${CXXFLAGS[@]}" -c "$src" -o "$obj"
        relink=1
    fi
    objs+=("$obj")
done
if [ "$relink" = 1 ] || [ ! -f "$out/sim.exe" ]; then
    run "$LINK" -o "$out/sim.exe" "${objs[@]}" "${LDFLAGS[@]}" -lshell32
fi

for src in "$here"/modules/*.cpp; do
    name="$(basename "${src%.cpp}")"
    obj="$out/obj/$name.obj"
    def="${src%.cpp}.def"
    if stale "$obj" "$src" || [ ! -f "$out/$name.dll" ] || [ "$def" -nt "$out/$name.dll" ]; then
        run "$CXX" "${CXXFLAGS[@]}" -c "$src" -o "$obj"
        run "$LINK" -shared -o "$out/$name.dll" "$obj" "$def" "${LDFLAGS[@]}"
    fi
done

echo "build.sh: $out/sim.exe and $(cd "$out" && ls ./*.dll | tr '\n' ' ')"
