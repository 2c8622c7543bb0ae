//! `httpserv-simulator MODULE.dll [--name NAME] [--report-shims] [--get URL]... [--requests N [--url URL]]`: the
//! DLL front door. Loads a
//! module DLL, calls its `RegisterModule` through the generated C++ shims (simulator/shims), and
//! serves the [`httpserv_testing::door`] protocol (JSON lines: commands on stdin, replies on
//! stdout) with the Rust simulation core. Every call between the DLL and the core is a C++
//! virtual call compiled by clang (or MSVC) for the MSVC ABI.
//!
//! `--report-shims` (a test aid, door-tests/dll.rs) writes `shims N`, the number of live shims
//! and proxies, to stderr after every reply line, so a test can check they do not pile up.
//!
//! `--get URL` (repeatable; scripts/demo.sh) serves no protocol either: it sends `GET URL` for each
//! and prints, readably, the registration's calls, each request's transcript and response, and the
//! shutdown's calls and counts.
//!
//! `--requests N` (scripts/bench.sh sim) serves no protocol: it sends `GET URL` (default
//! `/index.html`) N times through the core, shuts down, and prints one line,
//! `bench: N requests, T ms, R requests/s, C ms cpu, P requests/cpu-s`: wall clock, and the
//! sending thread's CPU time (`GetThreadTimes`; every request, its completions included, runs on
//! that thread), which a loaded machine disturbs much less than the wall clock.

#[cfg(httpserv_shims)]
fn main() {
    use std::os::windows::ffi::OsStrExt;

    use httpserv_sys::{IHttpModuleRegistrationInfo, IHttpServer, PFN_REGISTERMODULE};
    use httpserv_testing::{door, RegistrationError, TestServer};
    use windows_sys::core::HRESULT;
    use windows_sys::Win32::Foundation::{GetLastError, ERROR_PROC_NOT_FOUND};
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};

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

    /// `HRESULT_FROM_WIN32`.
    fn from_win32(error: u32) -> HRESULT {
        if error == 0 {
            0
        } else {
            ((error & 0xFFFF) | 0x8007_0000) as HRESULT
        }
    }

    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => fail(&message),
    };
    let dll = &args.dll;
    let wide: Vec<u16> = dll.as_os_str().encode_wide().chain(Some(0)).collect();
    // SAFETY: `wide` is a NUL-terminated UTF-16 path that outlives the call.
    let module = unsafe { LoadLibraryW(wide.as_ptr()) };
    let server = if module.is_null() {
        // SAFETY: no other call in between could have changed the thread's last error.
        let error = unsafe { GetLastError() };
        let hint = if error == 126 {
            " (ERROR_MOD_NOT_FOUND: the DLL or a DLL it imports is missing; under Wine 8, Rust programs and \
             DLLs need the bcryptprimitives.dll stand-in in httpserv-simulator.exe's directory, see \
             scripts/build-windows.sh)"
        } else {
            ""
        };
        let cause = format!("cannot load {}: LoadLibraryW failed with error {error}{hint}", dll.display());
        eprintln!("httpserv-simulator: {cause}");
        Err(RegistrationError::new(from_win32(error), cause))
    } else {
        // SAFETY: `module` is a loaded DLL and the name a NUL-terminated ASCII string.
        match unsafe { GetProcAddress(module, c"RegisterModule".as_ptr().cast()) } {
            None => {
                let cause = format!("{} does not export RegisterModule (a module DLL exports it undecorated)", dll.display());
                eprintln!("httpserv-simulator: {cause}");
                Err(RegistrationError::new(from_win32(ERROR_PROC_NOT_FOUND), cause))
            }
            Some(register) => {
                // SAFETY: an exported RegisterModule has the PFN_REGISTERMODULE signature (the
                // IIS contract).
                let register: PFN_REGISTERMODULE = unsafe { std::mem::transmute(register) };
                TestServer::with_registration_config(&args.name, args.config.as_ref(), |version, info, server| {
                    // SAFETY: called once, during registration, with the core's live
                    // registration info and server; `register` is the DLL's RegisterModule,
                    // which stays loaded for the process.
                    unsafe { httpserv_shim_register_module(register, version, info, server) }
                })
            }
        }
    };
    if !args.get.is_empty() {
        let server = server.unwrap_or_else(|e| fail(&e.to_string()));
        for call in server.server_calls() {
            println!("{call}");
        }
        for url in &args.get {
            println!("== GET {url}");
            let response = server.send(httpserv_testing::TestRequest::get(url.as_str()).header("User-Agent", "httpserv-rs-simulator"));
            print!("{}", response.transcript());
            println!("== response: {} {}", response.status, response.reason);
            for (name, value) in &response.headers {
                println!("{name}: {value}");
            }
            println!("{}", response.body_str());
        }
        let report = server.shutdown();
        println!("== shutdown");
        for call in &report.calls {
            println!("{call}");
        }
        println!(
            "== requests {}, modules created {}, disposed {}, factory terminated {}",
            report.requests, report.modules_created, report.modules_disposed, report.factory_terminated
        );
        return;
    }
    if let Some(requests) = args.requests {
        let server = server.unwrap_or_else(|e| fail(&e.to_string()));
        let start = std::time::Instant::now();
        let cpu_start = thread_cpu_ms();
        for _ in 0..requests {
            let response = server.send(httpserv_testing::TestRequest::get(args.url.as_str()).header("User-Agent", "httpserv-rs-simulator"));
            std::hint::black_box(response);
        }
        let elapsed = start.elapsed();
        let cpu_ms = thread_cpu_ms() - cpu_start;
        let report = server.shutdown();
        if report.modules_created != report.modules_disposed {
            fail(&format!("modules created {} != disposed {}", report.modules_created, report.modules_disposed));
        }
        let ms = elapsed.as_secs_f64() * 1000.0;
        println!(
            "bench: {requests} requests, {ms:.1} ms, {:.0} requests/s, {cpu_ms:.1} ms cpu, {:.0} requests/cpu-s",
            requests as f64 / elapsed.as_secs_f64(),
            requests as f64 * 1000.0 / cpu_ms.max(0.001)
        );
        return;
    }
    // Exit status 1 when the module did not register (the reply says why), else 0.
    let code = i32::from(server.is_err());
    let stdout = std::io::stdout().lock();
    let result = if args.report_shims {
        door::serve(server, std::io::stdin().lock(), ShimReport(stdout))
    } else {
        door::serve(server, std::io::stdin().lock(), stdout)
    };
    if let Err(e) = result {
        fail(&format!("{e}"));
    }
    std::process::exit(code);

    /// Writes through to stdout; after each reply line, `shims N` to stderr.
    struct ShimReport<W>(W);

    impl<W: std::io::Write> std::io::Write for ShimReport<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.0.write(buf)?;
            if buf[..n].contains(&b'\n') {
                self.0.flush()?;
                extern "C" {
                    fn httpserv_shim_count() -> usize;
                }
                // SAFETY: reads a counter under the shim registry's lock.
                eprintln!("shims {}", unsafe { httpserv_shim_count() });
            }
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
}

/// The command line.
#[cfg_attr(not(httpserv_shims), allow(dead_code))]
struct Args {
    dll: std::path::PathBuf,
    name: String,
    /// `--config`: the configuration the core serves through `GetAdminManager`.
    config: Option<httpserv_testing::Config>,
    report_shims: bool,
    get: Vec<String>,
    requests: Option<u64>,
    url: String,
}

/// `MODULE.dll [--name NAME] [--report-shims] [--get URL]... [--requests N [--url URL]]`.
#[cfg_attr(not(httpserv_shims), allow(dead_code))]
fn parse_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Args, String> {
    const USAGE: &str = "usage: httpserv-simulator MODULE.dll [--name NAME] [--config CONFIG.json] [--report-shims] [--get URL]... [--requests N [--url URL]]";
    let mut dll = None;
    let mut config = None;
    let mut name = httpserv_testing::DEFAULT_MODULE_NAME.to_string();
    let mut report_shims = false;
    let mut requests = None;
    let mut get = Vec::new();
    let mut url = "/index.html".to_string();
    while let Some(arg) = args.next() {
        if arg == "--name" {
            name = args.next().and_then(|n| n.into_string().ok()).ok_or(format!("--name needs a value\n{USAGE}"))?;
        } else if arg == "--config" {
            // The JSON of an httpserv_testing::Config (written by DllServerBuilder::config).
            let path = args.next().ok_or(format!("--config needs a file\n{USAGE}"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("--config {}: {e}", path.to_string_lossy()))?;
            let parsed: httpserv_testing::Config = serde_json::from_str(&text).map_err(|e| format!("--config {}: {e}", path.to_string_lossy()))?;
            config = Some(parsed);
        } else if arg == "--report-shims" {
            report_shims = true;
        } else if arg == "--requests" {
            let n = args.next().and_then(|n| n.into_string().ok()).and_then(|n| n.parse().ok());
            requests = Some(n.ok_or(format!("--requests needs a number\n{USAGE}"))?);
        } else if arg == "--get" {
            get.push(args.next().and_then(|n| n.into_string().ok()).ok_or(format!("--get needs a URL\n{USAGE}"))?);
        } else if arg == "--url" {
            url = args.next().and_then(|n| n.into_string().ok()).ok_or(format!("--url needs a value\n{USAGE}"))?;
        } else if dll.is_none() {
            dll = Some(std::path::PathBuf::from(arg));
        } else {
            return Err(format!("unexpected argument {}\n{USAGE}", arg.to_string_lossy()));
        }
    }
    Ok(Args { dll: dll.ok_or(USAGE)?, name, config, report_shims, get, requests, url })
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

/// The calling thread's CPU time (user + kernel) in milliseconds (`GetThreadTimes`, 100 ns
/// units), or 0 where it is not available.
#[cfg(all(httpserv_shims, windows))]
fn thread_cpu_ms() -> f64 {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::Threading::{GetCurrentThread, GetThreadTimes};
    let zero = FILETIME { dwLowDateTime: 0, dwHighDateTime: 0 };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: the pseudo-handle of the current thread; four writable FILETIMEs.
    if unsafe { GetThreadTimes(GetCurrentThread(), &mut created, &mut exited, &mut kernel, &mut user) } == 0 {
        return 0.0;
    }
    let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32 | u64::from(t.dwLowDateTime)) as f64;
    (ticks(kernel) + ticks(user)) / 10_000.0
}

#[cfg(all(httpserv_shims, not(windows)))]
fn thread_cpu_ms() -> f64 {
    0.0
}
