//! TEMPORARY stand-ins, branch `shims` only: branch `door` adds the real
//! `TestServer::with_registration` and `httpserv_testing::door::serve` (the JSON-lines loop) to
//! httpserv-testing. These have the same signatures so that main.rs does not change at the merge
//! except for its `use` lines; drop this file then. (An inherent `with_registration` takes
//! precedence over the trait's, so both may even coexist for a while.)
//!
//! The stand-in `serve` reads `METHOD URL` lines (not JSON) and writes, per request, the status,
//! the transcript and the number of live shims; at end of input, the shutdown calls.

use std::cell::Cell;
use std::ffi::c_void;
use std::io::{BufRead, Write};

use httpserv_sys::{IHttpModuleRegistrationInfo, IHttpServer};
use httpserv_testing::{RegistrationError, TestServer};
use windows_sys::core::HRESULT;

pub trait WithRegistration: Sized {
    fn with_registration(
        name: &str,
        register: impl FnOnce(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT,
    ) -> Result<Self, RegistrationError>;
}

thread_local! {
    /// The `Option<F>` of the registration under way on this thread.
    static PENDING: Cell<*mut c_void> = const { Cell::new(std::ptr::null_mut()) };
}

unsafe extern "system" fn trampoline<F: FnOnce(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT>(
    version: u32,
    info: *mut IHttpModuleRegistrationInfo,
    server: *mut IHttpServer,
) -> HRESULT {
    // SAFETY: with_registration set PENDING to its `Option<F>` for the duration of the
    // synchronous RegisterModule call on this thread.
    let register = unsafe { (*PENDING.get().cast::<Option<F>>()).take() }.expect("RegisterModule called twice");
    register(version, info, server)
}

impl WithRegistration for TestServer {
    fn with_registration(
        name: &str,
        register: impl FnOnce(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT,
    ) -> Result<Self, RegistrationError> {
        fn typed<F: FnOnce(u32, *mut IHttpModuleRegistrationInfo, *mut IHttpServer) -> HRESULT>(name: &str, register: F) -> Result<TestServer, RegistrationError> {
            let mut slot = Some(register);
            PENDING.set((&mut slot as *mut Option<F>).cast());
            let server = TestServer::with_name(name, trampoline::<F>);
            PENDING.set(std::ptr::null_mut());
            server
        }
        typed(name, register)
    }
}

pub mod door {
    use super::*;

    extern "C" {
        fn httpserv_shim_count() -> usize;
    }

    pub fn serve(server: Result<TestServer, RegistrationError>, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        let server = match server {
            Ok(server) => server,
            Err(e) => {
                writeln!(output, "{e}")?;
                for call in &e.calls {
                    writeln!(output, "{call}")?;
                }
                return Err(std::io::Error::other(e.to_string()));
            }
        };
        for line in input.lines() {
            let line = line?;
            let Some((method, url)) = line.trim().split_once(' ') else { continue };
            let response = server.send(httpserv_testing::TestRequest::new(method, url));
            writeln!(output, "status {}", response.status)?;
            write!(output, "{}", response.transcript())?;
            // SAFETY: reads a counter under the registry's lock.
            writeln!(output, "shims {}", unsafe { httpserv_shim_count() })?;
            output.flush()?;
        }
        let report = server.shutdown();
        writeln!(output, "shutdown")?;
        for call in &report.calls {
            writeln!(output, "{call}")?;
        }
        writeln!(output, "modules created {} disposed {}", report.modules_created, report.modules_disposed)?;
        // SAFETY: as above.
        writeln!(output, "shims {}", unsafe { httpserv_shim_count() })?;
        output.flush()
    }
}
