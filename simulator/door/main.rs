//! `httpserv-simulator MODULE.dll [--name NAME]`: the DLL front door. Loads a module DLL, calls
//! its `RegisterModule` through the generated C++ shims (simulator/shims), and serves requests
//! read as JSON lines on stdin with the Rust simulation core (httpserv-testing), writing the
//! results to stdout. Every call between the DLL and the core is a C++ virtual call compiled by
//! clang (or MSVC) for the MSVC ABI.

// Stand-ins for branch `door`'s `TestServer::with_registration` and `door::serve` until it is
// merged: drop `mod standin` and the `use standin::...` lines then (see standin.rs).
#[cfg(httpserv_shims)]
mod standin;

#[cfg(httpserv_shims)]
fn main() {
    use std::os::windows::ffi::OsStrExt;

    use httpserv_sys::{IHttpModuleRegistrationInfo, IHttpServer, PFN_REGISTERMODULE};
    use httpserv_testing::TestServer;
    use windows_sys::core::HRESULT;
    use windows_sys::Win32::Foundation::GetLastError;
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};

    use standin::door;
    #[allow(unused_imports)]
    use standin::WithRegistration as _;

    #[link(name = "httpserv_shims", kind = "static")]
    extern "C" {
        /// simulator/shims/shims.generated.cpp: wraps the core's objects in shims and calls the
        /// DLL's RegisterModule from a C++ call site.
        fn httpserv_shim_register_module(
            dll_register: PFN_REGISTERMODULE,
            version: u32,
            core_info: *mut IHttpModuleRegistrationInfo,
            core_server: *mut IHttpServer,
        ) -> HRESULT;
    }

    let (dll, name) = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => fail(&message),
    };
    let wide: Vec<u16> = dll.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: `wide` is a NUL-terminated UTF-16 path that outlives the call.
    let module = unsafe { LoadLibraryW(wide.as_ptr()) };
    if module.is_null() {
        // SAFETY: no other call in between could have changed the thread's last error.
        let error = unsafe { GetLastError() };
        let hint = if error == 126 {
            " (ERROR_MOD_NOT_FOUND: the DLL or a DLL it imports is missing; under Wine 8, Rust DLLs need a \
             bcryptprimitives.dll next to them, see scripts/build-windows.sh)"
        } else {
            ""
        };
        fail(&format!("cannot load {}: LoadLibraryW failed with error {error}{hint}", dll.display()));
    }
    // SAFETY: `module` is a loaded DLL and the name a NUL-terminated ASCII string.
    let Some(register) = (unsafe { GetProcAddress(module, c"RegisterModule".as_ptr().cast()) }) else {
        fail(&format!("{} does not export RegisterModule (a module DLL exports it undecorated)", dll.display()));
    };
    // SAFETY: an exported RegisterModule has the PFN_REGISTERMODULE signature (the IIS contract).
    let register: PFN_REGISTERMODULE = unsafe { std::mem::transmute(register) };
    let server = TestServer::with_registration(&name, |version, info, server| {
        // SAFETY: called once, during registration, with the core's live registration info and
        // server; `register` is the DLL's RegisterModule, which stays loaded for the process.
        unsafe { httpserv_shim_register_module(register, version, info, server) }
    });
    if let Err(e) = door::serve(server, std::io::stdin().lock(), std::io::stdout()) {
        fail(&format!("{e}"));
    }
}

/// `MODULE.dll [--name NAME]`.
#[cfg_attr(not(httpserv_shims), allow(dead_code))]
fn parse_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<(std::path::PathBuf, String), String> {
    const USAGE: &str = "usage: httpserv-simulator MODULE.dll [--name NAME]";
    let mut dll = None;
    let mut name = httpserv_testing::DEFAULT_MODULE_NAME.to_string();
    while let Some(arg) = args.next() {
        if arg == "--name" {
            name = args.next().and_then(|n| n.into_string().ok()).ok_or(format!("--name needs a value\n{USAGE}"))?;
        } else if dll.is_none() {
            dll = Some(std::path::PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {}\n{USAGE}", arg.to_string_lossy()));
        }
    }
    Ok((dll.ok_or(USAGE)?, name))
}

#[cfg_attr(not(httpserv_shims), allow(dead_code))]
fn fail(message: &str) -> ! {
    eprintln!("httpserv-simulator: {message}");
    std::process::exit(1);
}

#[cfg(not(httpserv_shims))]
fn main() {
    eprintln!("httpserv-simulator runs on Windows (or Wine): build it for a Windows target with scripts/build-windows.sh");
    std::process::exit(2);
}
