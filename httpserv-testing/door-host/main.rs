//! A host build of the DLL door's server side, for testing the protocol without Windows or Wine:
//! what `httpserv-simulator.exe` does, with the module linked in instead of loaded from a DLL.
//!
//! `httpserv-testing-door-host <module> [--name NAME]`: `<module>` is any existing file (the
//! client checks that the DLL exists); its file name picks the module: one ending in
//! `failing.dll` registers a module whose `RegisterModule` fails, one ending in `missing.dll`
//! plays a DLL that does not load, and any other the module of `module.rs`.

mod module;

use std::io::{self, BufWriter};

use httpserv_testing::{door, RegistrationError, TestServer, DEFAULT_MODULE_NAME};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dll = args.next().unwrap_or_default();
    let mut name = DEFAULT_MODULE_NAME.to_owned();
    while let Some(arg) = args.next() {
        if arg == "--name" {
            name = args.next().unwrap_or_default();
        }
    }
    let register: httpserv_testing::RegisterModuleFn = if dll.ends_with("failing.dll") {
        module::register_failing
    } else {
        module::register_module
    };
    let server = if dll.ends_with("missing.dll") {
        Err(RegistrationError::new(
            windows_sys::Win32::Foundation::E_FAIL,
            format!("LoadLibrary({dll}) failed: the module DLL did not load"),
        ))
    } else {
        TestServer::with_name(&name, register)
    };
    let stdin = io::stdin();
    door::serve(server, stdin.lock(), BufWriter::new(io::stdout().lock()))
}
