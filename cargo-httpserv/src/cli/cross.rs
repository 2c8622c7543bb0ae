//! `cargo httpserv build`: the module DLL for one IIS bitness.
//!
//! On Windows, the normal MSVC toolchain (`cargo build --target *-pc-windows-msvc`). On Linux,
//! Debian's rustc for `*-pc-windows-gnu` linked by mingw-w64, against the cached std of
//! [`super::sysroot`] (`--sysroot` in `CARGO_TARGET_<TRIPLE>_RUSTFLAGS` of the child cargo only),
//! into `target/httpserv/build/` so that host builds by the user's own toolchain never share
//! (and invalidate) its artifacts.

use std::path::PathBuf;

use anyhow::Context as _;

use super::project::Project;
use super::tools::{self, Options};
use super::{pe, sysroot};

/// An IIS worker process bitness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X64,
    X86,
}

impl Arch {
    pub fn gnu_triple(self) -> &'static str {
        match self {
            Arch::X64 => "x86_64-pc-windows-gnu",
            Arch::X86 => "i686-pc-windows-gnu",
        }
    }

    pub fn msvc_triple(self) -> &'static str {
        match self {
            Arch::X64 => "x86_64-pc-windows-msvc",
            Arch::X86 => "i686-pc-windows-msvc",
        }
    }

    /// The triple this OS builds with.
    pub fn triple(self) -> &'static str {
        if cfg!(windows) {
            self.msvc_triple()
        } else {
            self.gnu_triple()
        }
    }

    pub fn mingw_gcc(self) -> &'static str {
        match self {
            Arch::X64 => "x86_64-w64-mingw32-gcc",
            Arch::X86 => "i686-w64-mingw32-gcc",
        }
    }

    /// `x64` / `x86`: folder names in packages, and what the user types.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X64 => "x64",
            Arch::X86 => "x86",
        }
    }

    /// The IIS precondition of a DLL of this bitness.
    pub fn precondition(self) -> &'static str {
        match self {
            Arch::X64 => "bitness64",
            Arch::X86 => "bitness32",
        }
    }

    fn prereqs(self) -> Vec<tools::Prereq> {
        let linker = match self {
            Arch::X64 => tools::MINGW_X64,
            Arch::X86 => tools::MINGW_X86,
        };
        vec![tools::DEBIAN_RUSTC, tools::DEBIAN_CARGO, tools::RUST_SRC, tools::CA_CERTIFICATES, linker]
    }
}

/// The target directory of the cross build (Linux) or the normal one (Windows).
pub fn build_target_dir(project: &Project) -> PathBuf {
    if cfg!(windows) {
        project.target_dir.clone()
    } else {
        project.work_dir().join("build")
    }
}

/// Where `build` leaves the DLL.
pub fn dll_path(project: &Project, arch: Arch, release: bool) -> PathBuf {
    build_target_dir(project)
        .join(arch.triple())
        .join(if release { "release" } else { "debug" })
        .join(format!("{}.dll", project.lib_name))
}

/// Builds the DLL, checks its exports and architecture, prints and returns its path.
pub fn build(project: &Project, arch: Arch, release: bool, options: &Options) -> anyhow::Result<PathBuf> {
    let started = std::time::Instant::now();
    let mut command;
    if cfg!(windows) {
        command = tools::host_cargo();
        command.args(["build", "--target", arch.triple()]);
    } else {
        tools::require(&arch.prereqs(), options)?;
        let sysroot = sysroot::ensure(arch)?;
        let triple_env = arch.gnu_triple().to_uppercase().replace('-', "_");
        let lib = sysroot::target_lib_dir(&sysroot, arch.gnu_triple());
        let mut flags = format!("--sysroot={}", sysroot.display());
        if arch == Arch::X86 {
            // rsbegin.o / rsend.o live next to std's rlibs.
            flags.push_str(&format!(" -L native={}", lib.display()));
        }
        // The user's own RUSTFLAGS (removed from the child, where they would win) still apply.
        if let Ok(user) = std::env::var("RUSTFLAGS") {
            flags = format!("{user} {flags}");
        }
        command = tools::debian_cargo();
        command
            .args(["build", "--target", arch.gnu_triple()])
            .arg("--target-dir")
            .arg(build_target_dir(project))
            .env(format!("CARGO_TARGET_{triple_env}_RUSTFLAGS"), flags)
            .env(format!("CARGO_TARGET_{triple_env}_LINKER"), arch.mingw_gcc());
    }
    if release {
        command.arg("--release");
    }
    command.arg("--lib").arg("--manifest-path").arg(project.dir.join("Cargo.toml"));
    tools::run_status(&mut command, &format!("building {} for {}", project.name, arch.triple()))?;
    let dll = dll_path(project, arch, release);
    pe::check_module_dll(&dll, arch).with_context(|| format!("checking {}", dll.display()))?;
    eprintln!("    Finished {} DLL in {:.1} s", arch.name(), started.elapsed().as_secs_f64());
    println!("{}", dll.display());
    Ok(dll)
}
