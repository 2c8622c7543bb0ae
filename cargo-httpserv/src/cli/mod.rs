//! The command line: arguments (clap derive) and one module per command.

mod cross;
mod install;
mod new;
mod pe;
mod project;
mod run;
mod sysroot;
mod tools;
mod wine;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use cross::Arch;

/// `cargo httpserv`: new, build, test, run, install and package an IIS native module.
#[derive(Debug, Parser)]
#[command(name = "cargo-httpserv", bin_name = "cargo httpserv", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The module crate's Cargo.toml (default: the one cargo finds from the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Install missing Debian packages with apt-get (only as root) instead of naming them.
    #[arg(long, global = true)]
    pub install_missing: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a module crate (cdylib + rlib) with a module, tests and a README.
    New(NewArgs),
    /// Build the module DLL (Windows: MSVC toolchain; Linux: cross build with a cached std).
    Build(BuildArgs),
    /// Run the crate's tests in-process; with --dll, run the built DLL in the simulator.
    Test(TestArgs),
    /// Serve real HTTP on 127.0.0.1 through the module, logging each request.
    Run(RunArgs),
    /// Register the DLL with IIS (Windows); --print shows the commands on any OS.
    Install(InstallArgs),
    /// Make a zip with the DLL(s) and an install script.
    Package(PackageArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate's name (also its directory).
    pub name: String,
    /// Also create a global module (CGlobalModule) sharing state with the request module.
    #[arg(long)]
    pub global: bool,
    /// Write the request handler as an `async fn`.
    #[arg(long = "async")]
    pub async_handler: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Where the new crate gets `httpserv` from (at most one).
#[derive(Debug, Args, Default)]
#[group(multiple = false)]
pub struct SourceArgs {
    /// A local checkout of httpserv-rs (the repository's root).
    #[arg(long, value_name = "P")]
    pub httpserv_path: Option<PathBuf>,
    /// A git repository of httpserv-rs.
    #[arg(long, value_name = "URL")]
    pub httpserv_git: Option<String>,
    /// A registry version of httpserv.
    #[arg(long, value_name = "V")]
    pub httpserv_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Which IIS bitness to build for.
    #[arg(long, value_enum, default_value_t = ArchChoice::X64)]
    pub arch: ArchChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchChoice {
    X64,
    X86,
    All,
}

impl ArchChoice {
    pub fn arches(self) -> Vec<Arch> {
        match self {
            ArchChoice::X64 => vec![Arch::X64],
            ArchChoice::X86 => vec![Arch::X86],
            ArchChoice::All => vec![Arch::X64, Arch::X86],
        }
    }
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Build the x64 DLL and run it in the simulator executable (under Wine on Linux).
    #[arg(long)]
    pub dll: bool,
    /// With --dll: use the release profile.
    #[arg(long)]
    pub release: bool,
    /// Passed to `cargo test` (after `--`).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Serve through the built DLL in the simulator executable instead of in-process.
    #[arg(long)]
    pub dll: bool,
    /// The port on 127.0.0.1 (0: a free one, printed on standard output).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the appcmd commands and applicationHost.config fragments instead of running them.
    #[arg(long)]
    pub print: bool,
    /// Which DLL(s) to register.
    #[arg(long, value_enum, default_value_t = ArchChoice::X64)]
    pub arch: ArchChoice,
    /// Where the DLLs are copied on the IIS machine (default `%SystemDrive%\inetpub\modules\CRATE`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<String>,
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Which DLL(s) to build (release) and put in the zip.
    #[arg(long, value_enum, default_value_t = ArchChoice::X64)]
    pub arch: ArchChoice,
}

/// Parses the arguments as cargo passes them (`cargo-httpserv httpserv build ...`) or as given
/// to the executable directly (`cargo-httpserv build ...`).
pub fn parse<I, S>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString>,
{
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|a| a == "httpserv") {
        args.remove(1);
    }
    Cli::try_parse_from(args)
}

/// The entry point of the executable: returns the process exit code.
pub fn main() -> i32 {
    let cli = match parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error:#}");
            1
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let options = tools::Options { install_missing: cli.install_missing };
    let manifest = cli.manifest_path.as_deref();
    match cli.command {
        Command::New(args) => new::run(&args),
        Command::Build(args) => {
            let project = project::Project::load(manifest)?;
            for arch in args.arch.arches() {
                cross::build(&project, arch, args.release, &options)?;
            }
            Ok(())
        }
        Command::Test(args) => run::test(&project::Project::load(manifest)?, &args, &options),
        Command::Run(args) => run::run(&project::Project::load(manifest)?, &args, &options),
        Command::Install(args) => install::install(&project::Project::load(manifest)?, &args, &options),
        Command::Package(args) => install::package(&project::Project::load(manifest)?, &args, &options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_passes_the_subcommand_name_first() {
        let cli = parse(["cargo-httpserv", "httpserv", "build", "--release", "--arch", "all"]).unwrap();
        match cli.command {
            Command::Build(b) => {
                assert!(b.release);
                assert_eq!(b.arch, ArchChoice::All);
                assert_eq!(b.arch.arches(), vec![Arch::X64, Arch::X86]);
            }
            other => panic!("{other:?}"),
        }
        let direct = parse(["cargo-httpserv", "build"]).unwrap();
        assert!(matches!(direct.command, Command::Build(BuildArgs { release: false, arch: ArchChoice::X64 })));
    }

    #[test]
    fn new_takes_one_source_at_most() {
        let cli = parse(["cargo-httpserv", "httpserv", "new", "demo", "--global", "--async", "--httpserv-path", "/src/httpserv-rs"]).unwrap();
        let Command::New(n) = cli.command else { panic!() };
        assert_eq!(n.name, "demo");
        assert!(n.global && n.async_handler);
        assert_eq!(n.source.httpserv_path.as_deref(), Some(std::path::Path::new("/src/httpserv-rs")));
        let both = parse(["cargo-httpserv", "new", "demo", "--httpserv-git", "u", "--httpserv-version", "0.1"]);
        assert_eq!(both.unwrap_err().kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn run_test_install_package_flags() {
        let Command::Run(r) = parse(["c", "httpserv", "run", "--dll", "--port", "0"]).unwrap().command else { panic!() };
        assert!(r.dll);
        assert_eq!(r.port, 0);
        let Command::Run(r) = parse(["c", "run"]).unwrap().command else { panic!() };
        assert_eq!(r.port, 8080);
        let Command::Test(t) = parse(["c", "test", "--dll", "--", "--nocapture"]).unwrap().command else { panic!() };
        assert!(t.dll);
        assert_eq!(t.cargo_args, vec!["--nocapture".to_string()]);
        let Command::Install(i) = parse(["c", "install", "--print", "--arch", "x86"]).unwrap().command else { panic!() };
        assert!(i.print);
        assert_eq!(i.arch, ArchChoice::X86);
        assert!(parse(["c", "build", "--arch", "arm64"]).is_err());
        let cli = parse(["c", "package", "--install-missing"]).unwrap();
        assert!(cli.install_missing);
    }
}
