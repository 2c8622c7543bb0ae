//! `iis-simulator MODULE.dll SCRIPT [--requests N]`: runs a module DLL the way IIS does (see
//! simulator/README.md). The simulator is C++ with the MSVC ABI, built by build.rs for Windows
//! targets; this is only its entry point.

#[cfg(iis_simulator)]
fn main() {
    #[link(name = "iis_simulator", kind = "static")]
    extern "C" {
        fn iis_simulator_main(argc: i32, argv: *mut *mut u16) -> i32;
    }
    use std::os::windows::ffi::OsStrExt;
    let mut args: Vec<Vec<u16>> = std::env::args_os().map(|a| a.encode_wide().chain(Some(0)).collect()).collect();
    let mut argv: Vec<*mut u16> = args.iter_mut().map(|a| a.as_mut_ptr()).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv is a NULL-terminated array of NUL-terminated UTF-16 strings that outlive the call.
    let code = unsafe { iis_simulator_main(args.len() as i32, argv.as_mut_ptr()) };
    std::process::exit(code);
}

#[cfg(not(iis_simulator))]
fn main() {
    eprintln!("iis-simulator runs on Windows (or Wine): build it with scripts/e2e.sh");
    std::process::exit(2);
}
