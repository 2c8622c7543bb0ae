#!/usr/bin/env bash
# Installs the Debian 12 packages that the Windows cross build and the Wine tests need.
# Idempotent: does nothing (no apt-get at all) when every package is already installed.
#
#   rustc-web cargo-web rust-web-src   /usr/bin/rustc + /usr/bin/cargo 1.96 and the std source
#                                      (for -Zbuild-std; the rustup toolchain has no Windows std)
#   gcc/g++-mingw-w64-x86-64           linker, import libraries, windows.h for x86_64 Windows
#   gcc/g++-mingw-w64-i686             the same for 32-bit x86 (g++: links the C++ test modules)
#   clang lld                          clang++ --target=x86_64-pc-windows-msvc (MSVC C++ ABI host)
#   wine64 wine                        runs the Windows test programs; `wine` gives /usr/bin/wine
#                                      (wine64 only *recommends* it)
#   wine32:i386                        runs the 32-bit (x86) ones under the same `wine`; needs the
#                                      i386 architecture in dpkg (added here when missing)
#   libclang-dev                       bindgen
#   valgrind                           memcheck over the test-server suites (scripts/valgrind.sh)
#   ca-certificates                    HTTPS to crates.io (-Zbuild-std downloads std's dependencies);
#                                      only a recommendation of cargo's libraries
#
# Recommends are not installed (--no-install-recommends): checked on a fresh Debian 12 minbase
# root that the packages above are enough for the build, the clang/mingw host and a Wine run.
set -euo pipefail

PACKAGES=(
    rustc-web cargo-web rust-web-src
    gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 gcc-mingw-w64-i686 g++-mingw-w64-i686
    clang lld
    wine64 wine wine32:i386
    libclang-dev
    valgrind
    ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-toolchain: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "install-toolchain: missing: ${missing[*]}"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-toolchain: not root and no sudo; install as root: ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# wine32:i386 needs the i386 package index.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
    "${SUDO[@]}" dpkg --add-architecture i386
fi
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
