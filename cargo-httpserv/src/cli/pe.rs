//! Checks of a built module DLL, read from the file itself (no objdump): a PE image, a DLL, of
//! the expected machine (IIS loads only DLLs of its worker process's bitness), exporting
//! `RegisterModule` by that exact name (the one IIS asks `GetProcAddress` for).

use std::path::Path;

use anyhow::{bail, Context as _};
use object::Object;

use super::cross::Arch;

const IMAGE_FILE_MACHINE_I386: u16 = 0x014c;
const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_MACHINE_ARM64: u16 = 0xaa64;
const IMAGE_FILE_DLL: u16 = 0x2000;

/// The PE header's machine and characteristics fields.
pub fn pe_header(data: &[u8]) -> Option<(u16, u16)> {
    let u16_at = |at: usize| data.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    if data.get(0..2)? != b"MZ" {
        return None;
    }
    let pe = u32::from_le_bytes(data.get(0x3c..0x40)?.try_into().ok()?) as usize;
    if data.get(pe..pe + 4)? != b"PE\0\0" {
        return None;
    }
    Some((u16_at(pe + 4)?, u16_at(pe + 22)?))
}

pub fn machine_name(machine: u16) -> String {
    match machine {
        IMAGE_FILE_MACHINE_AMD64 => "x64 (64-bit)".into(),
        IMAGE_FILE_MACHINE_I386 => "x86 (32-bit)".into(),
        IMAGE_FILE_MACHINE_ARM64 => "ARM64".into(),
        other => format!("machine {other:#06x}"),
    }
}

fn expected_machine(arch: Arch) -> u16 {
    match arch {
        Arch::X64 => IMAGE_FILE_MACHINE_AMD64,
        Arch::X86 => IMAGE_FILE_MACHINE_I386,
    }
}

/// The names the DLL exports.
pub fn export_names(data: &[u8]) -> anyhow::Result<Vec<String>> {
    let file = object::File::parse(data).context("not a readable PE file")?;
    let exports = file.exports().context("reading the export table")?;
    Ok(exports.iter().map(|e| String::from_utf8_lossy(e.name()).into_owned()).collect())
}

pub fn check_module_dll(path: &Path, arch: Arch) -> anyhow::Result<()> {
    let data = std::fs::read(path).with_context(|| format!("{} was not built (cannot read it)", path.display()))?;
    check_module_dll_bytes(&data, arch)
}

pub fn check_module_dll_bytes(data: &[u8], arch: Arch) -> anyhow::Result<()> {
    let Some((machine, characteristics)) = pe_header(data) else {
        bail!("not a Windows DLL (no PE header)");
    };
    if machine != expected_machine(arch) {
        bail!(
            "the DLL is {}, not {}: IIS loads only DLLs of its worker process's bitness. Build it with `cargo httpserv build --arch {}`",
            machine_name(machine),
            machine_name(expected_machine(arch)),
            arch.name()
        );
    }
    if characteristics & IMAGE_FILE_DLL == 0 {
        bail!("the file is an executable, not a DLL: the crate needs `[lib] crate-type = [\"cdylib\", \"rlib\"]`");
    }
    let names = export_names(data)?;
    if names.iter().any(|n| n == "RegisterModule") {
        return Ok(());
    }
    if let Some(decorated) = names.iter().find(|n| n.trim_start_matches('_').starts_with("RegisterModule@")) {
        bail!(
            "RegisterModule is exported decorated as `{decorated}` (stdcall name mangling), but IIS looks up `RegisterModule`: \
             export it undecorated (with `#[http_module]`, which does; or a .def file / `-Wl,--kill-at` when linking)"
        );
    }
    let shown: Vec<&str> = names.iter().map(String::as_str).take(8).collect();
    bail!(
        "the DLL does not export `RegisterModule` (it exports: {}): put `#[http_module]` on the module struct and on its `impl HttpModule` (it emits `RegisterModule`), \
         and make sure the crate is a cdylib",
        if shown.is_empty() { "nothing".to_string() } else { shown.join(", ") }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
    }

    #[test]
    fn accepts_undecorated_register_module_of_the_right_machine() {
        check_module_dll_bytes(&fixture("register_x64.dll"), Arch::X64).unwrap();
        check_module_dll_bytes(&fixture("register_x86.dll"), Arch::X86).unwrap();
        assert_eq!(export_names(&fixture("register_x64.dll")).unwrap(), vec!["RegisterModule"]);
    }

    #[test]
    fn names_the_wrong_architecture() {
        let error = check_module_dll_bytes(&fixture("register_x86.dll"), Arch::X64).unwrap_err().to_string();
        assert!(error.contains("x86 (32-bit), not x64 (64-bit)"), "{error}");
        assert!(error.contains("--arch x64"), "{error}");
        let error = check_module_dll_bytes(&fixture("register_x64.dll"), Arch::X86).unwrap_err().to_string();
        assert!(error.contains("is x64 (64-bit), not x86"), "{error}");
    }

    #[test]
    fn names_a_decorated_or_missing_export() {
        let error = check_module_dll_bytes(&fixture("register_x86_decorated.dll"), Arch::X86).unwrap_err().to_string();
        assert!(error.contains("decorated as `RegisterModule@12`"), "{error}");
        let error = check_module_dll_bytes(&fixture("other_x64.dll"), Arch::X64).unwrap_err().to_string();
        assert!(error.contains("does not export `RegisterModule` (it exports: Other)"), "{error}");
    }

    #[test]
    fn refuses_what_is_not_a_pe_dll() {
        let error = check_module_dll_bytes(b"\x7fELF not a dll", Arch::X64).unwrap_err().to_string();
        assert!(error.contains("no PE header"), "{error}");
        let mut exe = fixture("register_x64.dll");
        let (pe, _) = (u32::from_le_bytes(exe[0x3c..0x40].try_into().unwrap()) as usize, ());
        exe[pe + 23] &= !0x20; // clear IMAGE_FILE_DLL (0x2000, high byte)
        let error = check_module_dll_bytes(&exe, Arch::X64).unwrap_err().to_string();
        assert!(error.contains("not a DLL"), "{error}");
    }
}
