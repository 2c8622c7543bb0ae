//! `cargo httpserv new`: a module crate that builds and whose tests pass as generated.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::project::HttpservSource;
use super::NewArgs;

/// The httpserv-rs checkout this tool was built from, if it is still there.
pub fn own_checkout() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    repo.join("httpserv").join("Cargo.toml").exists().then(|| repo.to_path_buf())
}

/// Where the new crate takes httpserv from: the flag, else this tool's own checkout, else the
/// registry version of this tool.
pub fn choose_source(args: &super::SourceArgs) -> anyhow::Result<HttpservSource> {
    if let Some(path) = &args.httpserv_path {
        let repo = std::fs::canonicalize(path).with_context(|| format!("--httpserv-path {}", path.display()))?;
        if !repo.join("httpserv").join("Cargo.toml").exists() {
            bail!("--httpserv-path {}: not an httpserv-rs checkout (no httpserv/Cargo.toml there); give the repository's root", repo.display());
        }
        return Ok(HttpservSource::Path(repo));
    }
    if let Some(url) = &args.httpserv_git {
        return Ok(HttpservSource::Git { url: url.clone(), rev: None });
    }
    if let Some(version) = &args.httpserv_version {
        return Ok(HttpservSource::Version(version.clone()));
    }
    Ok(match own_checkout() {
        Some(repo) => HttpservSource::Path(repo),
        None => HttpservSource::Version(env!("CARGO_PKG_VERSION").to_string()),
    })
}

/// `demo-module` -> `DemoModule`.
pub fn type_name(crate_name: &str) -> String {
    crate_name
        .split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!("`{name}` is not a crate name: use letters, digits, `-` and `_`, starting with a letter");
    }
    if ["test", "core", "std", "alloc", "proc_macro", "httpserv", "httpserv-testing", "self", "crate", "super"].contains(&name) {
        bail!("`{name}` would shadow a crate the module needs; choose another name");
    }
    Ok(())
}

fn dependency(source: &HttpservSource, krate: &str) -> String {
    match source {
        // TOML literal strings: no escaping of Windows backslashes.
        HttpservSource::Path(repo) => format!("{{ path = '{}' }}", repo.join(krate).display()),
        HttpservSource::Git { url, rev: Some(rev) } => format!("{{ git = \"{url}\", rev = \"{rev}\" }}"),
        HttpservSource::Git { url, rev: None } => format!("{{ git = \"{url}\" }}"),
        HttpservSource::Version(version) => format!("\"{version}\""),
    }
}

/// The files of the new crate, as (relative path, contents).
pub fn files(name: &str, global: bool, async_handler: bool, source: &HttpservSource) -> Vec<(&'static str, String)> {
    let module = type_name(name);
    let lib = name.replace('-', "_");
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[package.metadata.httpserv]
# The module's name in IIS (appcmd /name:, applicationHost.config), used by cargo httpserv install.
module-name = "{module}"

[lib]
# cdylib: the DLL IIS loads. rlib: lets the tests (and `cargo httpserv run`) link the module.
crate-type = ["cdylib", "rlib"]

[dependencies]
httpserv = {httpserv}

[dev-dependencies]
httpserv-testing = {testing}

[profile.release]
# Keep unwinding: a panic in a handler then becomes a 500 instead of ending the worker process.
panic = "unwind"

# A workspace of its own; remove this table to make the crate a member of an enclosing one.
[workspace]
"#,
        httpserv = dependency(source, "httpserv"),
        testing = dependency(source, "httpserv-testing"),
    );

    let handler = if async_handler {
        r#"    // An async handler: IIS is the executor. Returning from an `.await` that is not ready
    // leaves the request pending; the waker resumes it on one of IIS's threads.
    // An `Err` from `?` becomes a 500 carrying its HRESULT, and a trace entry.
    async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult {
        respond(context)?;
        Ok(NotificationStatus::FinishRequest)
    }"#
        .to_string()
    } else {
        r#"    // An `Err` from `?` becomes a 500 carrying its HRESULT, and a trace entry.
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _provider: &EventProvider<'_>) -> HandlerResult {
        respond(context)?;
        Ok(NotificationStatus::FinishRequest)
    }"#
        .to_string()
    };
    let (attribute, global_items, global_header) = if global {
        (
            format!(r#"#[http_module(name = "{module}", global = {module}Global, state = Stats)]"#),
            format!(
                r#"

/// State shared by the global module and every request (one per `RegisterModule` call: per
/// worker process in IIS, per test server in tests).
#[derive(Debug, Default)]
pub struct Stats {{
    pub application_starts: AtomicU64,
}}

/// The global module: one per worker process, called on IIS's threads.
#[derive(Default)]
pub struct {module}Global;

#[http_module]
impl GlobalModule for {module}Global {{
    fn on_global_application_start(&self, _provider: &ApplicationProvider<'_>) -> GlobalNotificationStatus {{
        {module}::state().application_starts.fetch_add(1, Ordering::Relaxed);
        GlobalNotificationStatus::Continue
    }}
}}
"#
            ),
            format!(
                r#"    let starts = {module}::state().application_starts.load(Ordering::Relaxed);
    response.set_header("X-Application-Starts", &starts.to_string())?;
"#
            ),
        )
    } else {
        (format!(r#"#[http_module(name = "{module}")]"#), String::new(), String::new())
    };
    let imports = if global {
        "use std::sync::atomic::{AtomicU64, Ordering};\n\nuse httpserv::prelude::*;\nuse httpserv::ApplicationProvider;\n"
    } else {
        "use httpserv::prelude::*;\n"
    };
    let lib_rs = format!(
        r#"//! {module}: an IIS native module. In `RQ_EXECUTE_REQUEST_HANDLER` it answers every request
//! with a plain-text greeting naming the requested path, and finishes the request.

{imports}
/// The greeting's first line; the second names the requested path.
pub const GREETING: &str = "Hello from {name}!\n";

{attribute}
#[derive(Default)]
pub struct {module};

#[http_module]
impl HttpModule for {module} {{
{handler}
}}
{global_items}
fn respond(context: &HttpContext<'_>) -> httpserv::Result<()> {{
    // The path without the query string; IIS has already decoded and normalised it.
    let path = context.request().path().map(|path| path.to_string_lossy()).unwrap_or_default();
    let response = context.response();
    response.clear();
    response.set_status(200, "OK")?;
    response.set_header("Content-Type", "text/plain")?;
{global_header}    response.write(GREETING.as_bytes())?;
    response.write(format!("You asked for {{path}}\n").as_bytes())?;
    Ok(())
}}
"#
    );
    let global_test = if global {
        format!(
            r#"
#[test]
fn the_global_module_counts_application_starts() {{
    let server = TestServer::new({lib}::RegisterModule).expect("RegisterModule failed");
    assert!(server.has_global_module());
    let response = server.send(TestRequest::get("/"));
    assert_eq!(response.header("X-Application-Starts"), Some("1"), "{{}}", response.transcript());
    server.shutdown();
}}
"#
        )
    } else {
        String::new()
    };
    let test_rs = format!(
        r#"//! The module in the in-process IIS simulator (`cargo test`, any OS).

use httpserv_testing::{{TestRequest, TestServer}};

#[test]
fn answers_with_the_greeting() {{
    let server = TestServer::new({lib}::RegisterModule).expect("RegisterModule failed");
    let response = server.send(TestRequest::get("/hello?name=iis"));
    assert_eq!(response.status, 200, "{{}}", response.transcript());
    assert_eq!(response.header("Content-Type"), Some("text/plain"));
    assert_eq!(response.body_str(), format!("{{}}You asked for /hello\n", {lib}::GREETING));
    assert_eq!(response.called("CHttpModule::OnExecuteRequestHandler"), 1);
    let report = server.shutdown();
    assert_eq!(report.modules_created, report.modules_disposed);
}}
{global_test}"#
    );
    let readme = format!(
        r#"# {name}

An IIS native module (`{module}`) written in Rust with httpserv.

## Develop

```sh
cargo httpserv test              # the tests, in-process (cargo test), any OS
cargo httpserv run --port 8080   # real HTTP on 127.0.0.1:8080 through the module: curl http://127.0.0.1:8080/
cargo httpserv build --release   # the DLL (x64); --arch x86|all for 32-bit application pools
cargo httpserv test --dll        # the built DLL in the simulator executable (under Wine on Linux)
cargo httpserv package           # target/httpserv/package/{name}-0.1.0.zip: DLL(s) + install.cmd
```

## Install in IIS

From the zip, in an elevated command prompt on the IIS machine: `install.cmd`. By hand:

```bat
mkdir %SystemDrive%\inetpub\modules\{name}
copy {lib}.dll %SystemDrive%\inetpub\modules\{name}\
%windir%\system32\inetsrv\appcmd.exe install module /name:{module} /image:%SystemDrive%\inetpub\modules\{name}\{lib}.dll /preCondition:bitness64
```

`cargo httpserv install --print` shows these commands and the `applicationHost.config`
fragments; on Windows `cargo httpserv install` runs them. The application pool's identity needs
read access to the DLL. A 32-bit application pool needs the x86 DLL, registered with
`/preCondition:bitness32` under another name.
"#
    );
    vec![
        ("Cargo.toml", cargo_toml),
        ("src/lib.rs", lib_rs),
        ("tests/module.rs", test_rs),
        ("README.md", readme),
        (".gitignore", "/target\n".to_string()),
    ]
}

pub fn run(args: &NewArgs) -> anyhow::Result<()> {
    validate_name(&args.name)?;
    let dir = PathBuf::from(&args.name);
    if dir.exists() {
        bail!("{} already exists: choose another name or remove it", dir.display());
    }
    let source = choose_source(&args.source)?;
    for (path, contents) in files(&args.name, args.global, args.async_handler, &source) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("relative file"))?;
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    let from = match &source {
        HttpservSource::Path(repo) => format!("the checkout at {}", repo.display()),
        HttpservSource::Git { url, .. } => format!("git {url}"),
        HttpservSource::Version(v) => format!("version {v} (httpserv is not published on crates.io yet: use --httpserv-path or --httpserv-git if this does not resolve)"),
    };
    eprintln!("     Created module crate `{}` ({}) with httpserv from {from}", args.name, type_name(&args.name));
    eprintln!("        Next: cd {} && cargo httpserv test && cargo httpserv run", args.name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("demo"), "Demo");
        assert_eq!(type_name("my-iis_module"), "MyIisModule");
        validate_name("demo-2").unwrap();
        assert!(validate_name("2demo").is_err());
        assert!(validate_name("de mo").is_err());
        assert!(validate_name("test").is_err());
    }

    #[test]
    fn dependency_forms() {
        let path = dependency(&HttpservSource::Path("/src/h".into()), "httpserv");
        assert_eq!(path, "{ path = '/src/h/httpserv' }");
        assert_eq!(dependency(&HttpservSource::Version("0.1".into()), "httpserv-testing"), "\"0.1\"");
        assert_eq!(dependency(&HttpservSource::Git { url: "https://x/h.git".into(), rev: None }, "httpserv"), "{ git = \"https://x/h.git\" }");
    }

    #[test]
    fn variants_differ_where_they_should() {
        let source = HttpservSource::Version("0.1".into());
        let plain = files("demo", false, false, &source);
        let lib = &plain[1].1;
        assert!(lib.contains("fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _provider: &EventProvider<'_>) -> HandlerResult"));
        assert!(!lib.contains("GlobalModule"));
        let both = files("demo", true, true, &source);
        assert!(both[1].1.contains("async fn on_execute_request_handler(&mut self, context: &HttpContext<'_>) -> HandlerResult"));
        assert!(both[1].1.contains("global = DemoGlobal, state = Stats"));
        assert!(both[2].1.contains("the_global_module_counts_application_starts"));
        assert!(plain[3].1.contains("appcmd.exe install module /name:Demo"));
    }
}
