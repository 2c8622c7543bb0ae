//! Prerequisites (Debian packages on Linux) and child processes with their own environment.
//!
//! Nothing here changes this process's environment: every variable a step needs is set on the
//! child `Command` only, so the user's shell and later plain `cargo` runs are untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// Options shared by every command.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `--install-missing`: run apt-get (as root) for missing packages.
    pub install_missing: bool,
}

/// A file or program a step needs, and the Debian package that provides it.
#[derive(Debug, Clone, Copy)]
pub struct Prereq {
    /// An absolute path, or a program name looked up on `PATH`.
    pub file: &'static str,
    pub package: &'static str,
    pub why: &'static str,
}

pub const DEBIAN_RUSTC: Prereq = Prereq { file: "/usr/bin/rustc", package: "rustc-web", why: "a Rust compiler that can build std for Windows" };
pub const DEBIAN_CARGO: Prereq = Prereq { file: "/usr/bin/cargo", package: "cargo-web", why: "the cargo of that compiler (-Zbuild-std)" };
pub const RUST_SRC: Prereq = Prereq { file: "/usr/lib/rustlib/src/rust/library/std/Cargo.toml", package: "rust-web-src", why: "std's source, built once per compiler and architecture" };
pub const CA_CERTIFICATES: Prereq = Prereq { file: "/etc/ssl/certs/ca-certificates.crt", package: "ca-certificates", why: "HTTPS to crates.io, where -Zbuild-std gets std's dependencies" };
pub const MINGW_X64: Prereq = Prereq { file: "x86_64-w64-mingw32-gcc", package: "gcc-mingw-w64-x86-64", why: "the linker for x64 Windows DLLs" };
pub const MINGW_X64_CXX: Prereq = Prereq { file: "x86_64-w64-mingw32-g++", package: "g++-mingw-w64-x86-64", why: "links the simulator executable" };
pub const MINGW_X86: Prereq = Prereq { file: "i686-w64-mingw32-gcc", package: "gcc-mingw-w64-i686", why: "the linker for x86 Windows DLLs" };
pub const CLANG: Prereq = Prereq { file: "clang++", package: "clang", why: "compiles the simulator's MSVC-ABI shims" };
pub const LLD: Prereq = Prereq { file: "ld.lld", package: "lld", why: "used by clang for the MSVC target" };
pub const WINE64: Prereq = Prereq { file: "/usr/lib/wine/wine64", package: "wine64", why: "runs the Windows simulator executable" };
pub const WINE: Prereq = Prereq { file: "wine", package: "wine", why: "the `wine` launcher" };

/// Finds `program` on `PATH` (or checks an absolute path).
pub fn find(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    let exts: &[&str] = if cfg!(windows) { &["", ".exe", ".cmd"] } else { &[""] };
    std::env::split_paths(&std::env::var_os("PATH")?)
        .flat_map(|dir| exts.iter().map(move |ext| dir.join(format!("{program}{ext}"))))
        .find(|candidate| candidate.is_file())
}

/// The command that installs `packages` on Debian.
pub fn apt_command(packages: &[&str]) -> String {
    format!("apt-get install -y --no-install-recommends {}", packages.join(" "))
}

/// Checks every prerequisite; installs the missing packages with `--install-missing` as root,
/// else fails naming them and the exact command.
pub fn require(prereqs: &[Prereq], options: &Options) -> anyhow::Result<()> {
    let missing: Vec<&Prereq> = prereqs.iter().filter(|p| find(p.file).is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|p| p.package).collect();
    packages.dedup();
    let list: String = missing.iter().map(|p| format!("\n  {} ({}: {})", p.file, p.package, p.why)).collect();
    if options.install_missing && is_root() {
        eprintln!("installing: {}", packages.join(" "));
        let status = Command::new("apt-get").arg("update").status().context("running apt-get update")?;
        if !status.success() {
            bail!("apt-get update failed");
        }
        let status = Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get install")?;
        if !status.success() {
            bail!("`{}` failed", apt_command(&packages));
        }
        return Ok(());
    }
    let how = if is_root() { "or rerun with --install-missing" } else { "as root (or with sudo)" };
    bail!("missing:{list}\ninstall them with:\n  {}\n({how})", apt_command(&packages))
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The cargo that runs host steps: the one that started us (`$CARGO`), else `cargo`.
pub fn host_cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Debian's cargo with Debian's rustc for the cross route, with a clean environment of its own:
/// rustup's and the calling cargo's variables removed so they cannot pick another toolchain.
pub fn debian_cargo() -> Command {
    let mut command = Command::new("/usr/bin/cargo");
    for var in ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "CARGO_BUILD_TARGET", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"] {
        command.env_remove(var);
    }
    command.env("RUSTC", "/usr/bin/rustc");
    command
}

/// Runs `command`, failing with its name if it cannot start or exits unsuccessfully.
pub fn run_status(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// A 64-bit FNV-1a hash: stable across Rust versions and platforms (cache keys).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_the_reference_function() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn missing_prerequisites_name_the_apt_command() {
        let absent = Prereq { file: "/nonexistent/httpserv-tool", package: "httpserv-pkg", why: "testing" };
        let error = require(&[absent, DEBIAN_RUSTC], &Options::default()).unwrap_err().to_string();
        assert!(error.contains("apt-get install -y --no-install-recommends httpserv-pkg"), "{error}");
        assert!(error.contains("/nonexistent/httpserv-tool"), "{error}");
    }
}
