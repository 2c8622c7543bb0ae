//! `cargo httpserv install` and `cargo httpserv package`: registering the DLL with IIS.
//!
//! One IIS module name per bitness: `NAME` for x64 (`preCondition="bitness64"`) and `NAME_x86`
//! for x86 (`bitness32`), so both can be installed side by side for 64- and 32-bit application
//! pools. The modules have no configuration section yet, so there is no schema to install.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};

use super::cross::{self, Arch};
use super::project::Project;
use super::tools::Options;
use super::{InstallArgs, PackageArgs};

const APPCMD: &str = r"%windir%\system32\inetsrv\appcmd.exe";

pub fn iis_name(project: &Project, arch: Arch) -> String {
    match arch {
        Arch::X64 => project.module_name.clone(),
        Arch::X86 => format!("{}_x86", project.module_name),
    }
}

pub fn default_dir(project: &Project) -> String {
    format!(r"%SystemDrive%\inetpub\modules\{}", project.name)
}

/// The DLL's path on the IIS machine.
pub fn image(project: &Project, dir: &str, arch: Arch) -> String {
    format!(r"{dir}\{}\{}.dll", arch.name(), project.lib_name)
}

/// The appcmd command that registers one DLL (globalModules + modules).
pub fn appcmd_install(project: &Project, dir: &str, arch: Arch) -> String {
    format!("{APPCMD} install module /name:{} /image:\"{}\" /preCondition:{}", iis_name(project, arch), image(project, dir, arch), arch.precondition())
}

/// What `appcmd install module` writes into applicationHost.config.
pub fn config_fragment(project: &Project, dir: &str, arches: &[Arch]) -> String {
    let mut out = String::from("<!-- applicationHost.config, <system.webServer> -->\n<globalModules>\n");
    for &arch in arches {
        out.push_str(&format!("  <add name=\"{}\" image=\"{}\" preCondition=\"{}\" />\n", iis_name(project, arch), image(project, dir, arch), arch.precondition()));
    }
    out.push_str("</globalModules>\n<modules>\n");
    for &arch in arches {
        out.push_str(&format!("  <add name=\"{}\" preCondition=\"{}\" />\n", iis_name(project, arch), arch.precondition()));
    }
    out.push_str("</modules>\n");
    out
}

/// install.cmd of the package: copies the DLLs next to it into DIR and registers them.
pub fn install_cmd(project: &Project, arches: &[Arch]) -> String {
    let dir = default_dir(project);
    let mut lines = vec![
        "@echo off".to_string(),
        format!("rem Installs the IIS module {} ({}). Run it in an elevated command prompt.", project.module_name, project.name),
        "setlocal".to_string(),
        format!("set \"APPCMD={APPCMD}\""),
        "if not exist \"%APPCMD%\" (echo IIS is not installed here: %APPCMD% not found & exit /b 1)".to_string(),
    ];
    for &arch in arches {
        let name = iis_name(project, arch);
        lines.push(format!("mkdir \"{dir}\\{}\" 2>nul", arch.name()));
        lines.push(format!("copy /y \"%~dp0{}\\{}.dll\" \"{dir}\\{}\\\" || exit /b 1", arch.name(), project.lib_name, arch.name()));
        lines.push(format!("\"%APPCMD%\" uninstall module {name} >nul 2>&1"));
        lines.push(format!("\"%APPCMD%\" install module /name:{name} /image:\"{}\" /preCondition:{} || exit /b 1", image(project, &dir, arch), arch.precondition()));
    }
    lines.push(format!("echo Installed {}. Recycle the application pools that should load it.", project.module_name));
    lines.join("\r\n") + "\r\n"
}

pub fn uninstall_cmd(project: &Project, arches: &[Arch]) -> String {
    let mut lines = vec!["@echo off".to_string(), format!("set \"APPCMD={APPCMD}\"")];
    for &arch in arches {
        lines.push(format!("\"%APPCMD%\" uninstall module {}", iis_name(project, arch)));
    }
    lines.join("\r\n") + "\r\n"
}

pub fn install(project: &Project, args: &InstallArgs, options: &Options) -> anyhow::Result<()> {
    let arches = args.arch.arches();
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(project));
    if args.print || !cfg!(windows) {
        if !args.print {
            eprintln!("note: registering with IIS needs Windows; here are the commands to run there (cargo httpserv package makes a zip with an install.cmd)\n");
        }
        println!("rem In an elevated command prompt on the IIS machine, with the DLL(s) from `cargo httpserv build --release`:");
        for &arch in &arches {
            println!("mkdir \"{dir}\\{}\"", arch.name());
            println!("copy {} \"{dir}\\{}\\\"", cross::dll_path(project, arch, true).display(), arch.name());
            println!("{}", appcmd_install(project, &dir, arch));
        }
        println!();
        print!("{}", config_fragment(project, &dir, &arches));
        return Ok(());
    }
    // Windows: build, copy, register.
    let expanded = dir.replace("%SystemDrive%", &std::env::var("SystemDrive").unwrap_or_else(|_| "C:".into()));
    let windir = std::env::var("windir").unwrap_or_else(|_| r"C:\Windows".into());
    let appcmd = PathBuf::from(&windir).join(r"system32\inetsrv\appcmd.exe");
    if !appcmd.exists() {
        bail!("{} not found: install IIS (Windows feature IIS-WebServerRole) first", appcmd.display());
    }
    for &arch in &arches {
        let dll = cross::build(project, arch, true, options)?;
        let target = PathBuf::from(&expanded).join(arch.name());
        std::fs::create_dir_all(&target).with_context(|| format!("creating {} (run as administrator)", target.display()))?;
        std::fs::copy(&dll, target.join(format!("{}.dll", project.lib_name))).context("copying the DLL (in use by a worker process? recycle its application pool)")?;
        let name = iis_name(project, arch);
        let _ = std::process::Command::new(&appcmd).args(["uninstall", "module", &name]).output();
        let status = std::process::Command::new(&appcmd)
            .args(["install", "module", &format!("/name:{name}")])
            .arg(format!("/image:{}", image(project, &expanded, arch)))
            .arg(format!("/preCondition:{}", arch.precondition()))
            .status()?;
        if !status.success() {
            bail!("appcmd install module failed ({status}); run as administrator");
        }
        println!("installed {name} ({})", image(project, &expanded, arch));
    }
    Ok(())
}

pub fn package(project: &Project, args: &PackageArgs, options: &Options) -> anyhow::Result<()> {
    let arches = args.arch.arches();
    let mut dlls = Vec::new();
    for &arch in &arches {
        dlls.push((arch, cross::build(project, arch, true, options)?));
    }
    let out_dir = project.work_dir().join("package");
    std::fs::create_dir_all(&out_dir)?;
    let zip_path = out_dir.join(format!("{}-{}.zip", project.name, project.version));
    let file = std::fs::File::create(&zip_path).with_context(|| format!("creating {}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (arch, dll) in &dlls {
        zip.start_file(format!("{}/{}.dll", arch.name(), project.lib_name), options)?;
        zip.write_all(&std::fs::read(dll)?)?;
    }
    zip.start_file("install.cmd", options)?;
    zip.write_all(install_cmd(project, &arches).as_bytes())?;
    zip.start_file("uninstall.cmd", options)?;
    zip.write_all(uninstall_cmd(project, &arches).as_bytes())?;
    zip.start_file("applicationHost.config.txt", options)?;
    zip.write_all(config_fragment(project, &default_dir(project), &arches).replace('\n', "\r\n").as_bytes())?;
    zip.finish()?;
    println!("{}", zip_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        Project {
            name: "demo-mod".into(),
            version: "0.1.0".into(),
            lib_name: "demo_mod".into(),
            dir: "/w/demo-mod".into(),
            target_dir: "/w/demo-mod/target".into(),
            module_name: "DemoMod".into(),
            httpserv: None,
        }
    }

    #[test]
    fn appcmd_and_config_name_bitness() {
        let p = project();
        let dir = default_dir(&p);
        assert_eq!(
            appcmd_install(&p, &dir, Arch::X64),
            r#"%windir%\system32\inetsrv\appcmd.exe install module /name:DemoMod /image:"%SystemDrive%\inetpub\modules\demo-mod\x64\demo_mod.dll" /preCondition:bitness64"#
        );
        assert!(appcmd_install(&p, &dir, Arch::X86).contains("/name:DemoMod_x86 /image:\"%SystemDrive%\\inetpub\\modules\\demo-mod\\x86\\demo_mod.dll\" /preCondition:bitness32"));
        let config = config_fragment(&p, &dir, &[Arch::X64, Arch::X86]);
        assert!(config.contains(r#"<add name="DemoMod" image="%SystemDrive%\inetpub\modules\demo-mod\x64\demo_mod.dll" preCondition="bitness64" />"#), "{config}");
        assert!(config.contains(r#"<add name="DemoMod_x86" preCondition="bitness32" />"#), "{config}");
    }

    #[test]
    fn install_script_copies_then_registers() {
        let script = install_cmd(&project(), &[Arch::X64]);
        assert!(script.contains("copy /y \"%~dp0x64\\demo_mod.dll\""));
        assert!(script.contains("install module /name:DemoMod /image:"));
        assert!(script.lines().all(|l| !l.contains('\n')) && script.contains("\r\n"));
    }
}
