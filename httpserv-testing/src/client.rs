//! The client side of the DLL door: a [`TestServer`] backed by `httpserv-simulator.exe` in a
//! child process (directly on Windows, under Wine elsewhere), speaking [`door`]'s protocol.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use windows_sys::Win32::Foundation::{E_FAIL, ERROR_FILE_NOT_FOUND};

use super::door::{self, Registered, Reply};
use super::strings::hresult_from_win32;
use super::{Call, RegistrationError, ShutdownReport, TestRequest, TestResponse, TestServer};
use super::DEFAULT_MODULE_NAME;

/// The environment variable naming `httpserv-simulator.exe` for [`TestServer::dll`].
pub const SIMULATOR_ENV: &str = "HTTPSERV_SIMULATOR";

/// How long a simulator whose input was closed may take to exit before it is killed.
const EXIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How much of the child's standard error is kept for error messages.
const STDERR_KEPT: usize = 16 * 1024;

/// Starts a DLL-door [`TestServer`]: [`TestServer::dll_builder`].
///
/// - The simulator executable is [`DllServerBuilder::simulator`], else the path in the
///   environment variable `HTTPSERV_SIMULATOR`.
/// - On Windows it runs directly. Elsewhere it runs under Wine: the program `wine` on the
///   `PATH` unless [`DllServerBuilder::wine`] names another (or [`DllServerBuilder::without_wine`]
///   runs the simulator directly, for a host build of it). `WINEPREFIX` is passed on as the
///   environment has it; `WINEDEBUG=-all` and `WINEDLLOVERRIDES=mscoree,mshtml=` (no Mono or
///   Gecko install prompts) are set unless the environment sets them. The DLL's path is given
///   to Wine as a `Z:` path.
#[derive(Clone, Debug)]
pub struct DllServerBuilder {
    dll: PathBuf,
    name: String,
    simulator: Option<PathBuf>,
    wine: Option<OsString>,
    pending_timeout: Option<std::time::Duration>,
    config: Option<crate::Config>,
}

impl DllServerBuilder {
    /// A builder for the module DLL at `dll`.
    pub fn new(dll: impl AsRef<Path>) -> DllServerBuilder {
        DllServerBuilder {
            dll: dll.as_ref().to_owned(),
            name: DEFAULT_MODULE_NAME.to_owned(),
            simulator: None,
            wine: (!cfg!(windows)).then(|| OsString::from("wine")),
            pending_timeout: None,
            config: None,
        }
    }

    /// How long the simulator waits for another thread to complete a pending notification
    /// ([`TestServer::set_pending_timeout`]; passed as `$HTTPSERV_PENDING_TIMEOUT_MS`).
    pub fn pending_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.pending_timeout = Some(timeout);
        self
    }

    /// The name `IHttpModuleRegistrationInfo::GetName` returns (default
    /// [`DEFAULT_MODULE_NAME`]).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The configuration the simulator serves through `IHttpServer::GetAdminManager` from the
    /// start (written to a temporary JSON file passed as `--config`).
    pub fn config(mut self, config: crate::Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The simulator executable, instead of `$HTTPSERV_SIMULATOR`.
    pub fn simulator(mut self, exe: impl AsRef<Path>) -> Self {
        self.simulator = Some(exe.as_ref().to_owned());
        self
    }

    /// Runs the simulator under this Wine program (default: `wine` outside Windows).
    pub fn wine(mut self, program: impl Into<OsString>) -> Self {
        self.wine = Some(program.into());
        self
    }

    /// Runs the simulator directly, without Wine (the default on Windows; elsewhere, for a
    /// simulator built for the host).
    pub fn without_wine(mut self) -> Self {
        self.wine = None;
        self
    }

    /// Starts the simulator, which loads the DLL and calls its `RegisterModule`.
    pub fn start(self) -> Result<TestServer, RegistrationError> {
        let exe = match self.simulator.clone() {
            Some(exe) => exe,
            None => match std::env::var_os(SIMULATOR_ENV) {
                Some(exe) if !exe.is_empty() => PathBuf::from(exe),
                _ => {
                    return Err(RegistrationError::new(
                        hresult_from_win32(ERROR_FILE_NOT_FOUND),
                        format!(
                            "no simulator to load {}: set {SIMULATOR_ENV} to the path of \
                             httpserv-simulator.exe (or call DllServerBuilder::simulator)",
                            self.dll.display()
                        ),
                    ))
                }
            },
        };
        if !exe.is_file() {
            return Err(RegistrationError::new(
                hresult_from_win32(ERROR_FILE_NOT_FOUND),
                format!(
                    "the simulator executable {} does not exist: build httpserv-simulator.exe, \
                     then point {SIMULATOR_ENV} (or DllServerBuilder::simulator) at it",
                    exe.display()
                ),
            ));
        }
        if !self.dll.is_file() {
            return Err(RegistrationError::new(
                hresult_from_win32(ERROR_FILE_NOT_FOUND),
                format!(
                    "the module DLL {} does not exist: build it first (for example cargo build \
                     --target x86_64-pc-windows-gnu -p your-module)",
                    self.dll.display()
                ),
            ));
        }
        let dll = std::path::absolute(&self.dll).unwrap_or_else(|_| self.dll.clone());
        let mut command = match &self.wine {
            Some(wine) => {
                let mut command = Command::new(wine);
                command.arg(&exe).arg(wine_path(&dll));
                for (name, value) in [("WINEDEBUG", "-all"), ("WINEDLLOVERRIDES", "mscoree,mshtml=")] {
                    if std::env::var_os(name).is_none() {
                        command.env(name, value);
                    }
                }
                command
            }
            None => {
                let mut command = Command::new(&exe);
                command.arg(&dll);
                command
            }
        };
        if let Some(timeout) = self.pending_timeout {
            command.env("HTTPSERV_PENDING_TIMEOUT_MS", timeout.as_millis().max(1).to_string());
        }
        // Kept until the child has read it (it reads it before registering).
        let _config_file = match &self.config {
            Some(config) => {
                let file = ConfigFile::write(config).map_err(|e| RegistrationError::new(E_FAIL, format!("writing the configuration for the simulator: {e}")))?;
                command.arg("--config").arg(if self.wine.is_some() { wine_path(&file.0) } else { file.0.clone().into_os_string() });
                Some(file)
            }
            None => None,
        };
        command
            .arg("--name")
            .arg(&self.name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let describe = format!("{command:?}");
        // Look Wine up first rather than rely on spawn's NotFound: under valgrind (and other
        // exec emulations) a missing program spawns and exits 127 instead.
        if let Some(wine) = &self.wine {
            if !program_exists(wine) {
                return Err(RegistrationError::new(
                    hresult_from_win32(ERROR_FILE_NOT_FOUND),
                    format!(
                        "{} not found: running {} outside Windows needs Wine (install it, for \
                         example apt-get install wine64, or name it with DllServerBuilder::wine)",
                        wine.to_string_lossy(),
                        exe.display()
                    ),
                ));
            }
        }
        // Held until the child has registered (or failed to) when this start may create the
        // Wine prefix; see `PrefixInit`.
        let _prefix_init = match &self.wine {
            Some(_) => PrefixInit::acquire(),
            None => None,
        };
        let mut child = command.spawn().map_err(|e| {
            let cause = match (&self.wine, e.kind()) {
                (Some(wine), std::io::ErrorKind::NotFound) => format!(
                    "{} not found: running {} outside Windows needs Wine (install it, for \
                     example apt-get install wine64, or name it with DllServerBuilder::wine)",
                    wine.to_string_lossy(),
                    exe.display()
                ),
                _ => format!("could not start {describe}: {e}"),
            };
            RegistrationError::new(E_FAIL, cause)
        })?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend_from_slice(&buffer[..n]);
                    let excess = kept.len().saturating_sub(STDERR_KEPT);
                    kept.drain(..excess);
                }
            });
        }
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut pipes = Pipes {
            child,
            stdin,
            stdout,
            exited: false,
        };
        let first = pipes.read_reply(&describe, &stderr, "registering the module");
        match first {
            Ok(Reply::Registered(registered)) => Ok(TestServer::from_dll(DllServer {
                registered,
                pipes: Mutex::new(pipes),
                stderr,
                describe,
            })),
            Ok(Reply::RegistrationFailed { error }) => {
                pipes.finish();
                Err(error)
            }
            Ok(other) => {
                pipes.finish();
                Err(RegistrationError::new(
                    E_FAIL,
                    format!("{describe} did not register the module: it replied {other:?}"),
                ))
            }
            Err(message) => {
                pipes.finish();
                Err(RegistrationError::new(E_FAIL, message))
            }
        }
    }
}

/// Serializes the Wine starts that may create the prefix.
///
/// Two `wine` processes that both find the prefix missing race to create it and to start its
/// `wineserver`; the loser fails with "chdir to /tmp/wine-*/server-*: No such file or
/// directory". So a start that finds no `system.reg` in the prefix takes an exclusive lock on
/// `<prefix>.httpserv-lock` beside it, checks again, and keeps the lock until its simulator has
/// replied to registration: by then the prefix exists and its wineserver runs, and the starts
/// that waited find both. The lock is `flock(2)`, so it serializes threads of one test binary
/// and separate processes (cargo nextest) alike, and the kernel releases it if a holder dies.
struct PrefixInit {
    #[cfg(unix)]
    _file: std::fs::File,
}

impl PrefixInit {
    /// `None` when the prefix exists already (nothing to serialize) or no lock could be taken
    /// (the start then goes ahead unserialized, as it would without this).
    fn acquire() -> Option<PrefixInit> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            let prefix = match std::env::var_os("WINEPREFIX") {
                Some(prefix) if !prefix.is_empty() => PathBuf::from(prefix),
                _ => PathBuf::from(std::env::var_os("HOME")?).join(".wine"),
            };
            let initialized = || prefix.join("system.reg").is_file();
            if initialized() {
                return None;
            }
            let mut lock_path = prefix.clone().into_os_string();
            lock_path.push(".httpserv-lock");
            let lock_path = PathBuf::from(lock_path);
            if let Some(parent) = lock_path.parent() {
                std::fs::create_dir_all(parent).ok()?;
            }
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).ok()?;
            // SAFETY: flock takes a file descriptor that `file` owns and keeps open for the call.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return None;
            }
            if initialized() {
                return None;
            }
            Some(PrefixInit { _file: file })
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// Whether `program` names a file: a path as given, or a bare name found on the `PATH`.
fn program_exists(program: &std::ffi::OsStr) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(path).is_file()))
}

/// The path Wine's default `Z:` drive (the Unix root) gives `path`.
/// A temporary file holding a [`crate::Config`] as JSON, removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn write(config: &crate::Config) -> std::io::Result<ConfigFile> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("httpserv-config-{}-{n}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_vec(config)?)?;
        Ok(ConfigFile(std::path::absolute(&path).unwrap_or(path)))
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn wine_path(path: &Path) -> OsString {
    let text = path.to_string_lossy();
    if text.starts_with('/') {
        OsString::from(format!("Z:{}", text.replace('/', "\\")))
    } else {
        path.as_os_str().to_owned()
    }
}

/// The child process and its pipes.
struct Pipes {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    exited: bool,
}

impl Pipes {
    /// Reads one reply line; a clear message if the child died or wrote something else.
    fn read_reply(
        &mut self,
        describe: &str,
        stderr: &Mutex<Vec<u8>>,
        doing: &str,
    ) -> Result<Reply, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => {
                let status = self.finish();
                Err(format!(
                    "the simulator process ended while {doing} ({status}): {describe}{}",
                    stderr_tail(stderr)
                ))
            }
            Ok(_) => door::parse_reply(&line).map_err(|e| {
                format!(
                    "protocol error while {doing}: {describe} wrote a line that is not a reply \
                     ({e}): {:?}; is HTTPSERV_SIMULATOR a build of httpserv-simulator.exe from \
                     this version of httpserv-testing?{}",
                    line.trim_end(),
                    stderr_tail(stderr)
                )
            }),
            Err(e) => Err(format!(
                "could not read from the simulator process while {doing} ({e}): {describe}{}",
                stderr_tail(stderr)
            )),
        }
    }

    /// Closes the child's input and waits for it; its exit status, as text.
    fn finish(&mut self) -> String {
        drop(self.stdin.take());
        if self.exited {
            return "exited".to_owned();
        }
        self.exited = true;
        // With its input closed the simulator shuts down and exits; one that does not (a module
        // stuck in Terminate, a wedged Wine) is killed rather than hang the test forever.
        let deadline = std::time::Instant::now() + EXIT_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return format!("did not exit within {} s of its input closing and was killed", EXIT_TIMEOUT.as_secs());
                }
                Err(e) => return format!("could not wait for it: {e}"),
            }
        }
    }
}

/// `", stderr: ..."` with what the child wrote there, if anything.
fn stderr_tail(stderr: &Mutex<Vec<u8>>) -> String {
    // Give the reader thread a moment to collect the last words of a dying child.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let kept = stderr.lock().unwrap_or_else(|e| e.into_inner());
    let text = String::from_utf8_lossy(&kept);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!("\nits standard error:\n{text}")
    }
}

/// A running simulator process with a registered module.
pub(crate) struct DllServer {
    pub(crate) registered: Registered,
    /// One command and its reply at a time.
    pipes: Mutex<Pipes>,
    stderr: Arc<Mutex<Vec<u8>>>,
    describe: String,
}

impl DllServer {
    /// Sends `command` and reads its reply: `Err` with a clear message if the exchange failed,
    /// and the panic of the simulator re-raised here.
    fn exchange(&self, command: &door::Command, doing: &str) -> Reply {
        let result = {
            let mut pipes = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
            self.exchange_locked(&mut pipes, command, doing)
        };
        match result {
            Ok(Reply::Panicked { message }) => panic!("{message}"),
            Ok(Reply::Error { message }) => panic!(
                "httpserv-simulator refused a command while {doing}: {message} ({})",
                self.describe
            ),
            Ok(reply) => reply,
            Err(message) => panic!("{message}"),
        }
    }

    fn exchange_locked(
        &self,
        pipes: &mut Pipes,
        command: &door::Command,
        doing: &str,
    ) -> Result<Reply, String> {
        let line = door::command_line(command)?;
        let Some(stdin) = pipes.stdin.as_mut() else {
            return Err(format!("the simulator process is gone ({})", self.describe));
        };
        if let Err(e) = stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush())
        {
            let status = pipes.finish();
            return Err(format!(
                "could not write to the simulator process while {doing} ({e}; it {status}): {}{}",
                self.describe,
                stderr_tail(&self.stderr)
            ));
        }
        pipes.read_reply(&self.describe, &self.stderr, doing)
    }

    fn unexpected(&self, doing: &str, reply: Reply) -> ! {
        panic!(
            "protocol error while {doing}: httpserv-simulator replied {reply:?} ({})",
            self.describe
        )
    }

    pub(crate) fn send(&self, request: TestRequest) -> TestResponse {
        assert!(request.other_modules.is_empty(), "{}", door::OTHER_MODULE_REFUSED);
        assert!(request.on_wire.is_none(), "{}", door::ON_WIRE_REFUSED);
        let doing = format!("running {} {}", request.method, request.url);
        match self.exchange(&door::Command::Send { request }, &doing) {
            Reply::Response { response } => response,
            other => self.unexpected(&doing, other),
        }
    }

    pub(crate) fn server_calls(&self) -> Vec<Call> {
        let doing = "reading the server calls";
        match self.exchange(&door::Command::ServerCalls, doing) {
            Reply::ServerCalls { calls } => calls,
            other => self.unexpected(doing, other),
        }
    }

    pub(crate) fn notify(&self, command: door::Command) {
        let doing = "delivering a global notification";
        match self.exchange(&command, doing) {
            Reply::Notified => {}
            other => self.unexpected(doing, other),
        }
    }

    pub(crate) fn shutdown(self) -> ShutdownReport {
        let doing = "shutting down";
        let reply = self.exchange(&door::Command::Shutdown, doing);
        self.pipes.lock().unwrap_or_else(|e| e.into_inner()).finish();
        match reply {
            Reply::ShutDown { report } => report,
            other => self.unexpected(doing, other),
        }
    }
}

impl Drop for DllServer {
    fn drop(&mut self) {
        // Closing its input shuts the simulator down (as dropping an in-process server does),
        // then it exits.
        self.pipes.lock().unwrap_or_else(|e| e.into_inner()).finish();
    }
}
