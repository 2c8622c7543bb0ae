//! `cargo httpserv test` and `cargo httpserv run`.
//!
//! `run` serves in-process by default: the module must be linked into the serving process, so
//! it generates `target/httpserv/run-host/`, a crate depending on the user's crate (path) and on
//! `cargo-httpserv`'s library (`default-features = false`, from where the user's `httpserv`
//! comes from, so that both share one `httpserv-sys`), whose `main` calls
//! `cargo_httpserv::serve(module::RegisterModule, port)`; then runs it with the host cargo.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::cross::{self, Arch};
use super::project::{HttpservSource, Project};
use super::tools::{self, Options};
use super::{sysroot, wine, RunArgs, TestArgs};

pub fn test(project: &Project, args: &TestArgs, options: &Options) -> anyhow::Result<()> {
    if !args.dll {
        let mut command = tools::host_cargo();
        command.arg("test").arg("--manifest-path").arg(project.dir.join("Cargo.toml")).args(&args.cargo_args);
        return tools::run_status(&mut command, "cargo test");
    }
    let dll = cross::build(project, Arch::X64, args.release, options)?;
    let simulator = simulator_exe(project, options)?;
    let server = dll_server(project, &simulator, &dll, options)?;
    for url in ["/", "/index.html?from=cargo-httpserv"] {
        let started = std::time::Instant::now();
        let response = server.send(httpserv_testing::TestRequest::get(url));
        print!("{}", crate::serve::log_entry(&format!("GET {url}"), &response, started.elapsed().as_secs_f64() * 1000.0));
    }
    let report = server.shutdown();
    if report.modules_created != report.modules_disposed {
        bail!("{} modules created but {} disposed", report.modules_created, report.modules_disposed);
    }
    eprintln!("    Finished the DLL answered in the simulator");
    Ok(())
}

pub fn run(project: &Project, args: &RunArgs, options: &Options) -> anyhow::Result<()> {
    if args.dll {
        let dll = cross::build(project, Arch::X64, args.release, options)?;
        let simulator = simulator_exe(project, options)?;
        let server = dll_server(project, &simulator, &dll, options)?;
        return cargo_httpserv_serve(server, args.port);
    }
    let host = write_run_host(project)?;
    let mut command = tools::host_cargo();
    command.arg("build").arg("--quiet").arg("--manifest-path").arg(host.join("Cargo.toml")).arg("--target-dir").arg(&project.target_dir);
    if args.release {
        command.arg("--release");
    }
    tools::run_status(&mut command, "building the run host")?;
    let exe = project
        .target_dir
        .join(if args.release { "release" } else { "debug" })
        .join(format!("httpserv-run-host{}", std::env::consts::EXE_SUFFIX));
    eprintln!("     Serving {} in-process (host crate {})", project.name, host.display());
    let mut server = std::process::Command::new(&exe);
    server.arg(args.port.to_string());
    // Unix: become the server, so that stopping this process stops it.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let error = server.exec();
        Err(anyhow::Error::new(error).context(format!("starting {}", exe.display())))
    }
    #[cfg(not(unix))]
    tools::run_status(&mut server, "the run host")
}

fn cargo_httpserv_serve(server: httpserv_testing::TestServer, port: u16) -> anyhow::Result<()> {
    crate::serve::serve_server(server, port)
}

/// The module DLL in the simulator executable as a [`httpserv_testing::TestServer`].
///
/// Through `TestServer::dll`, which finds the simulator through `$HTTPSERV_SIMULATOR` and uses Wine's
/// variables as the environment gives them, so they are set here, in this process only (never
/// the user's shell), from [`wine::command`].
fn dll_server(project: &Project, simulator: &Path, dll: &Path, options: &Options) -> anyhow::Result<httpserv_testing::TestServer> {
    let wine = wine::command(project, simulator, options)?;
    for (name, value) in wine.get_envs() {
        if let Some(value) = value {
            std::env::set_var(name, value);
        }
    }
    std::env::set_var("HTTPSERV_SIMULATOR", simulator);
    httpserv_testing::TestServer::dll(dll).map_err(|error| anyhow::anyhow!("{error} (loading {} in {})", dll.display(), simulator.display()))
}

/// The simulator executable: `$HTTPSERV_SIMULATOR`, else built from the httpserv-rs checkout
/// the crate depends on, into `target/httpserv/simulator/`.
fn simulator_exe(project: &Project, options: &Options) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("HTTPSERV_SIMULATOR") {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("HTTPSERV_SIMULATOR={} is not a file", path.display());
        }
        return Ok(path);
    }
    let Some(HttpservSource::Path(repo)) = &project.httpserv else {
        bail!("set HTTPSERV_SIMULATOR to httpserv-simulator.exe (it is built from a checkout of httpserv-rs, with `cargo httpserv` when the crate depends on httpserv by path)");
    };
    let target_dir = project.work_dir().join("simulator");
    let arch = Arch::X64;
    let mut command;
    if cfg!(windows) {
        command = tools::host_cargo();
        command.args(["build", "--release", "--target", arch.triple()]);
    } else {
        tools::require(&[tools::DEBIAN_RUSTC, tools::DEBIAN_CARGO, tools::RUST_SRC, tools::MINGW_X64, tools::MINGW_X64_CXX, tools::CLANG, tools::LLD], options)?;
        let sysroot = sysroot::ensure(arch)?;
        command = tools::debian_cargo();
        command
            .args(["build", "--release", "--target", arch.gnu_triple()])
            .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS", format!("--sysroot={}", sysroot.display()))
            .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", arch.mingw_gcc());
    }
    command.args(["-p", "httpserv-simulator", "--manifest-path"]).arg(repo.join("Cargo.toml")).arg("--target-dir").arg(&target_dir);
    sysroot::run_with_progress(command, "building the simulator executable")?;
    Ok(target_dir.join(arch.triple()).join("release").join("httpserv-simulator.exe"))
}

/// The `cargo-httpserv` dependency line of the run host, from where `httpserv` comes from.
pub fn host_dependency(source: Option<&HttpservSource>) -> String {
    let own = || format!("{{ path = '{}', default-features = false }}", env!("CARGO_MANIFEST_DIR"));
    match source {
        Some(HttpservSource::Path(repo)) if repo.join("cargo-httpserv").join("Cargo.toml").exists() => {
            format!("{{ path = '{}', default-features = false }}", repo.join("cargo-httpserv").display())
        }
        Some(HttpservSource::Git { url, rev: Some(rev) }) => format!("{{ git = \"{url}\", rev = \"{rev}\", default-features = false }}"),
        Some(HttpservSource::Git { url, rev: None }) => format!("{{ git = \"{url}\", default-features = false }}"),
        Some(HttpservSource::Version(v)) => format!("{{ version = \"{v}\", default-features = false }}"),
        _ => own(),
    }
}

/// Writes `target/httpserv/run-host/` (only the files that changed, so cargo does not rebuild).
pub fn write_run_host(project: &Project) -> anyhow::Result<PathBuf> {
    let host = project.work_dir().join("run-host");
    let manifest = format!(
        "# Generated by cargo httpserv run: serves {name} in-process. Do not edit.\n\
         [package]\nname = \"httpserv-run-host\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nmodule = {{ package = \"{name}\", path = '{dir}' }}\ncargo-httpserv = {host_dep}\n\n\
         [workspace]\n",
        name = project.name,
        dir = project.dir.display(),
        host_dep = host_dependency(project.httpserv.as_ref()),
    );
    let main = "//! Generated by cargo httpserv run. Do not edit.\n\
        fn main() {\n    \
            let port = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8080);\n    \
            if let Err(error) = cargo_httpserv::serve(module::RegisterModule, port) {\n        \
                eprintln!(\"error: {error:#}\");\n        \
                std::process::exit(1);\n    \
            }\n\
        }\n";
    write_if_changed(&host.join("Cargo.toml"), &manifest)?;
    write_if_changed(&host.join("src").join("main.rs"), main)?;
    Ok(host)
}

fn write_if_changed(path: &Path, contents: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}
