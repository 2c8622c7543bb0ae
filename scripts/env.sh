# shellcheck shell=bash
# Source this (`. scripts/env.sh`) in the shell or subshell that cross-builds for Windows and runs
# the Wine tests. It only creates the repo's target/ dir (Wine refuses a prefix whose parent is
# missing) and adds no .cargo/config.toml entries, so a shell that did NOT source it builds for
# the host with the rustup toolchain as usual.
#
# Note: RUSTC=/usr/bin/rustc and RUSTC_BOOTSTRAP=1 are exported, and plain `cargo` reads them
# too: in a shell that sourced this file, build the host crates in a subshell without them
# (or `env -u RUSTC -u RUSTC_BOOTSTRAP cargo ...`).
#
# Cross build (Debian cargo 1.96 builds std from source; RUSTC_BOOTSTRAP allows -Z):
#   "$WIN_CARGO" build --release $WIN_BUILD_STD --target "$WIN_TARGET" --target-dir "$WIN_TARGET_DIR"
# Run under Wine (the prefix is created on first use, a few seconds):
#   wine path/to/host.exe

if [ -z "${BASH_VERSION:-}" ]; then
    echo "scripts/env.sh: source it from bash" >&2
    return 1 2>/dev/null || exit 1
fi

_httpserv_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian's rustc/cargo, which can build a Windows std (the rustup one has no Windows std).
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export WIN_CARGO=/usr/bin/cargo

# Linkers for the Windows GNU targets (mingw-w64).
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_I686_PC_WINDOWS_GNU_LINKER=i686-w64-mingw32-gcc

# What to pass to "$WIN_CARGO". The profile must keep panic = "unwind" (the default) so that
# catch_unwind works in a module DLL; `std` brings panic_unwind, `panic_abort` is there only so
# that a panic = "abort" profile also builds.
export WIN_TARGET=x86_64-pc-windows-gnu
export WIN_BUILD_STD="-Zbuild-std=std,panic_abort"
# A target dir of its own keeps the ~1 min std build cached and apart from the host builds.
export WIN_TARGET_DIR="$_httpserv_env_root/target/windows"

# Wine: a private prefix inside the repo's target/ dir, quiet, and no Mono/Gecko install prompts.
export WINEPREFIX="$_httpserv_env_root/target/wineprefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$_httpserv_env_root/target"

unset _httpserv_env_root
