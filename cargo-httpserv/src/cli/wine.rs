//! Running Windows programs from Linux: Wine, its prefix in the user's target directory, and the
//! `bcryptprimitives.dll` stand-in that Wine 8 lacks (Rust's std imports `ProcessPrng` from it).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::project::Project;
use super::tools::{self, Options};

/// The stand-in's source, shared with the repository's own e2e tests.
const PROCESSPRNG_C: &str = include_str!("../../../e2e/support/processprng/processprng.c");
const PROCESSPRNG_DEF: &str = include_str!("../../../e2e/support/processprng/bcryptprimitives.def");

/// A command that runs the Windows program `exe`: directly on Windows; under Wine elsewhere,
/// with the prefix `target/httpserv/wineprefix` and the stand-in on Wine's `PATH`. Every variable
/// is set on the command only.
pub fn command(project: &Project, exe: &Path, options: &Options) -> anyhow::Result<Command> {
    if cfg!(windows) {
        return Ok(Command::new(exe));
    }
    tools::require(&[tools::WINE64, tools::WINE, tools::MINGW_X64], options)
        .map_err(|e| anyhow::anyhow!("{e:#}\n(Wine runs the Windows simulator on Linux; only 64-bit DLLs are run: 32-bit ones would also need wine32:i386)"))?;
    let standin_dir = standin(project)?;
    let prefix = project.work_dir().join("wineprefix");
    std::fs::create_dir_all(project.work_dir())?;
    let mut command = Command::new("wine");
    command
        .arg(exe)
        .env("WINEPREFIX", &prefix)
        .env("WINEDEBUG", std::env::var("HTTPSERV_WINEDEBUG").unwrap_or_else(|_| "-all".into()))
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        // Wine maps / to Z:; its PATH is part of the DLL search order.
        .env("WINEPATH", format!("Z:{}", standin_dir.display()).replace('/', "\\"));
    Ok(command)
}

/// Builds `target/httpserv/wine/bcryptprimitives.dll` when missing; returns its directory.
pub fn standin(project: &Project) -> anyhow::Result<PathBuf> {
    let dir = project.work_dir().join("wine");
    let dll = dir.join("bcryptprimitives.dll");
    let source = dir.join("processprng.c");
    if dll.exists() && std::fs::read_to_string(&source).is_ok_and(|s| s == PROCESSPRNG_C) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(&source, PROCESSPRNG_C)?;
    std::fs::write(dir.join("bcryptprimitives.def"), PROCESSPRNG_DEF)?;
    let mut gcc = Command::new("x86_64-w64-mingw32-gcc");
    gcc.args(["-O2", "-shared", "-s", "-o"]).arg(&dll).arg(&source).arg(dir.join("bcryptprimitives.def")).arg("-ladvapi32");
    tools::run_status(&mut gcc, "building the bcryptprimitives.dll stand-in for Wine")?;
    Ok(dir)
}
