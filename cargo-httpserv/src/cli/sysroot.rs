//! One shared std per Windows target and compiler version, built once with `-Zbuild-std` and
//! reused through `--sysroot` by every project and rebuild.
//!
//! Layout: `CACHE/sysroot/<key>/lib/rustlib/<triple>/lib/*.rlib` (plus `rsbegin.o`/`rsend.o` for
//! i686), where `CACHE` is `$HTTPSERV_CACHE_DIR`, else `$XDG_CACHE_HOME/httpserv`, else
//! `~/.cache/httpserv`, and `<key>` hashes `rustc -vV` (the compiler's exact version and commit),
//! the triple and the build-std crate list. A `.complete` file marks a finished sysroot; it is
//! assembled in a temporary directory and renamed into place, so an interrupted build is redone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::cross::Arch;
use super::tools;

/// What `-Zbuild-std` builds; part of the key.
pub const BUILD_STD: &str = "std,panic_abort";
/// Bumped when the layout of a sysroot changes.
const LAYOUT_VERSION: &str = "1";

pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HTTPSERV_CACHE_DIR") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("httpserv");
    }
    if let Some(dir) = std::env::var_os("LOCALAPPDATA") {
        return PathBuf::from(dir).join("httpserv");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache").join("httpserv")
}

/// The cache key: 16 hex digits over the compiler's `rustc -vV`, the target and what is built.
pub fn key(rustc_version_verbose: &str, triple: &str) -> String {
    let input = format!("{}\ntarget={triple}\nbuild-std={BUILD_STD}\nlayout={LAYOUT_VERSION}\n", rustc_version_verbose.trim());
    format!("{:016x}", tools::fnv1a64(input.as_bytes()))
}

/// The sysroot directory for a key.
pub fn sysroot_dir(cache: &Path, key: &str) -> PathBuf {
    cache.join("sysroot").join(key)
}

/// Where the target's libraries sit inside a sysroot.
pub fn target_lib_dir(sysroot: &Path, triple: &str) -> PathBuf {
    sysroot.join("lib").join("rustlib").join(triple).join("lib")
}

fn rustc_vv() -> anyhow::Result<String> {
    let output = Command::new("/usr/bin/rustc").arg("-vV").output().context("running /usr/bin/rustc -vV")?;
    if !output.status.success() {
        bail!("/usr/bin/rustc -vV failed");
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The sysroot for `arch`, building it first if this compiler has none yet.
pub fn ensure(arch: Arch) -> anyhow::Result<PathBuf> {
    let triple = arch.gnu_triple();
    let cache = cache_dir();
    let key = key(&rustc_vv()?, triple);
    let sysroot = sysroot_dir(&cache, &key);
    if sysroot.join(".complete").exists() {
        return Ok(sysroot);
    }
    let started = std::time::Instant::now();
    let work = cache.join("std-build").join(format!("{key}-{triple}"));
    std::fs::create_dir_all(work.join("src")).with_context(|| format!("creating {}", work.display()))?;
    // A throwaway crate: building it with -Zbuild-std builds std for the target.
    std::fs::write(
        work.join("Cargo.toml"),
        "[package]\nname = \"httpserv-std-build\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[profile.release]\npanic = \"unwind\"\n",
    )?;
    std::fs::write(work.join("src/lib.rs"), "//! Built only so that cargo builds std for the target.\n")?;
    let mut command = tools::debian_cargo();
    command
        .current_dir(&work)
        .args(["build", "--release", "--target", triple, &format!("-Zbuild-std={BUILD_STD}")])
        .arg("--target-dir")
        .arg(work.join("target"))
        .env("RUSTC_BOOTSTRAP", "1")
        .env(format!("CARGO_TARGET_{}_LINKER", triple.to_uppercase().replace('-', "_")), arch.mingw_gcc());
    run_with_progress(command, &format!("building Rust's std for {triple} once (cached in {})", cache.display()))?;

    let staging = cache.join("sysroot").join(format!("{key}.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let lib = target_lib_dir(&staging, triple);
    std::fs::create_dir_all(&lib)?;
    let deps = work.join("target").join(triple).join("release").join("deps");
    let mut copied = 0;
    for entry in std::fs::read_dir(&deps).with_context(|| format!("reading {}", deps.display()))? {
        let path = entry?.path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        if file.ends_with(".rlib") && !file.starts_with("libhttpserv_std_build") {
            std::fs::copy(&path, lib.join(file))?;
            copied += 1;
        }
    }
    if copied == 0 {
        bail!("the std build left no .rlib in {}", deps.display());
    }
    if arch == Arch::X86 {
        build_rtstartup(&lib, triple)?;
    }
    std::fs::write(staging.join(".complete"), format!("rustc:\n{}\n", rustc_vv()?))?;
    if sysroot.join(".complete").exists() {
        // Another build finished first (two projects at once): keep its sysroot, in use maybe.
        let _ = std::fs::remove_dir_all(&staging);
    } else {
        let _ = std::fs::remove_dir_all(&sysroot); // an interrupted one
        std::fs::rename(&staging, &sysroot).with_context(|| format!("moving the sysroot into {}", sysroot.display()))?;
    }
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("     Cached std for {triple} in {} ({:.0} s, {copied} crates)", sysroot.display(), started.elapsed().as_secs_f64());
    Ok(sysroot)
}

/// i686 Windows GNU links `rsbegin.o`/`rsend.o` (DWARF unwind registration), which build-std
/// does not produce: compile them from std's source into the sysroot's lib directory.
fn build_rtstartup(lib: &Path, triple: &str) -> anyhow::Result<()> {
    let src = Path::new("/usr/lib/rustlib/src/rust/library/rtstartup");
    for name in ["rsbegin", "rsend"] {
        let mut command = Command::new("/usr/bin/rustc");
        command
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["--target", triple, "--emit=obj", "-C", "panic=abort", "-O", "--crate-type=lib", "-o"])
            .arg(lib.join(format!("{name}.o")))
            .arg(src.join(format!("{name}.rs")));
        tools::run_status(&mut command, &format!("compiling {name}.o for {triple}"))?;
    }
    Ok(())
}

/// Runs a long cargo step under a spinner showing what it is doing; its output is shown only
/// if it fails.
pub fn run_with_progress(mut command: Command, what: &str) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {prefix}: {msg}").unwrap());
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().with_context(|| format!("{what}: cannot start {:?}", command.get_program()))?;
    let mut log = String::new();
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line.unwrap_or_default();
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            bar.set_message(trimmed.chars().take(60).collect::<String>());
        }
        log.push_str(&line);
        log.push('\n');
    }
    let status = child.wait()?;
    bar.finish_and_clear();
    if !status.success() {
        bail!("{what} failed ({status}):\n{log}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VV: &str = "rustc 1.96.0 (abc 2026-01-01)\nbinary: rustc\ncommit-hash: abc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.96.0\nLLVM version: 19.1.7\n";

    #[test]
    fn key_depends_on_compiler_and_target_only() {
        let a = key(VV, "x86_64-pc-windows-gnu");
        assert_eq!(a.len(), 16);
        assert_eq!(a, key(&format!("{VV}\n\n"), "x86_64-pc-windows-gnu"), "trailing whitespace is not a new compiler");
        assert_ne!(a, key(VV, "i686-pc-windows-gnu"));
        assert_ne!(a, key(&VV.replace("1.96.0", "1.97.0"), "x86_64-pc-windows-gnu"));
        // Stable: a cache written by one build of cargo-httpserv is found by the next.
        assert_eq!(a, key(VV, "x86_64-pc-windows-gnu"));
    }

    #[test]
    fn layout() {
        let root = sysroot_dir(Path::new("/c"), "0123456789abcdef");
        assert_eq!(root, Path::new("/c/sysroot/0123456789abcdef"));
        assert_eq!(target_lib_dir(&root, "i686-pc-windows-gnu"), Path::new("/c/sysroot/0123456789abcdef/lib/rustlib/i686-pc-windows-gnu/lib"));
    }
}
