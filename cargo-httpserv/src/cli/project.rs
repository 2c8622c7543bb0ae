//! The module crate being worked on, as `cargo metadata` describes it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde_json::Value;

use super::tools;

/// How the crate depends on `httpserv`; the run host takes `cargo-httpserv` from the same place
/// so that both see one `httpserv-sys` (and so one `RegisterModuleFn` type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpservSource {
    /// A checkout: the repository's root (which holds `httpserv/`, `cargo-httpserv/`, ...).
    Path(PathBuf),
    /// A git repository at a revision.
    Git { url: String, rev: Option<String> },
    /// A registry version.
    Version(String),
}

#[derive(Debug, Clone)]
pub struct Project {
    /// The package name (`my-module`).
    pub name: String,
    pub version: String,
    /// The library's crate name (`my_module`), also the DLL's file stem.
    pub lib_name: String,
    /// The package's directory.
    pub dir: PathBuf,
    /// Cargo's target directory for it.
    pub target_dir: PathBuf,
    /// The module's name in IIS: `[package.metadata.httpserv] module-name`, else the crate name.
    pub module_name: String,
    pub httpserv: Option<HttpservSource>,
}

impl Project {
    pub fn load(manifest: Option<&Path>) -> anyhow::Result<Project> {
        let mut command = tools::host_cargo();
        command.args(["metadata", "--format-version", "1"]);
        if let Some(manifest) = manifest {
            command.arg("--manifest-path").arg(manifest);
        }
        let output = command.output().context("running cargo metadata")?;
        if !output.status.success() {
            bail!("cargo metadata failed (run this in a module crate's directory, or pass --manifest-path):\n{}", String::from_utf8_lossy(&output.stderr));
        }
        let metadata: Value = serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
        Self::from_metadata(&metadata)
    }

    pub fn from_metadata(metadata: &Value) -> anyhow::Result<Project> {
        let root = metadata["resolve"]["root"].as_str().context("no package here (a virtual workspace?): run this in a module crate's directory, or pass --manifest-path")?;
        let packages = metadata["packages"].as_array().context("cargo metadata: no packages")?;
        let package = packages.iter().find(|p| p["id"] == root).context("cargo metadata: the root package is missing")?;
        let name = package["name"].as_str().unwrap_or_default().to_string();
        let lib = package["targets"]
            .as_array()
            .and_then(|targets| targets.iter().find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "cdylib"))))
            .with_context(|| format!("{name} has no cdylib target: add `[lib] crate-type = [\"cdylib\", \"rlib\"]` to its Cargo.toml"))?;
        let lib_name = lib["name"].as_str().unwrap_or(&name).replace('-', "_");
        let manifest_path = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let from_source = || {
            let source = std::fs::read_to_string(lib["src_path"].as_str()?).ok()?;
            module_name_in_source(&source)
        };
        let module_name = package["metadata"]["httpserv"]["module-name"].as_str().map(str::to_string).or_else(from_source).unwrap_or_else(|| name.clone());
        let httpserv = packages.iter().find(|p| p["name"] == "httpserv").map(source_of);
        Ok(Project {
            version: package["version"].as_str().unwrap_or("0.0.0").to_string(),
            lib_name,
            dir: manifest_path.parent().map(Path::to_path_buf).unwrap_or_default(),
            target_dir: PathBuf::from(metadata["target_directory"].as_str().unwrap_or("target")),
            module_name,
            httpserv,
            name,
        })
    }

    /// `target/httpserv/`: everything this tool generates for the crate.
    pub fn work_dir(&self) -> PathBuf {
        self.target_dir.join("httpserv")
    }
}

/// The `name = "..."` of the crate's `#[http_module(...)]` struct attribute, if it has one.
pub fn module_name_in_source(source: &str) -> Option<String> {
    let attribute = &source[source.find("#[http_module(")? + "#[http_module(".len()..];
    let attribute = &attribute[..attribute.find(")]")?];
    let at = attribute.split(',').map(str::trim).find(|part| part.starts_with("name") && part["name".len()..].trim_start().starts_with('='))?;
    let value = at.split_once('=')?.1.trim();
    Some(value.strip_prefix('"')?.strip_suffix('"')?.to_string())
}

fn source_of(package: &Value) -> HttpservSource {
    match package["source"].as_str() {
        None => {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
            // .../httpserv-rs/httpserv/Cargo.toml -> .../httpserv-rs
            HttpservSource::Path(manifest.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default())
        }
        Some(source) if source.starts_with("git+") => {
            let rest = &source["git+".len()..];
            let (url, rev) = match rest.split_once('#') {
                Some((url, rev)) => (url, Some(rev.to_string())),
                None => (rest, None),
            };
            let url = url.split('?').next().unwrap_or(url).to_string();
            HttpservSource::Git { url, rev }
        }
        Some(_) => HttpservSource::Version(package["version"].as_str().unwrap_or("0.1").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(httpserv_source: Value) -> Value {
        serde_json::json!({
            "packages": [
                { "id": "demo-id", "name": "demo", "version": "0.2.0", "manifest_path": "/w/demo/Cargo.toml",
                  "targets": [{ "name": "demo", "kind": ["cdylib", "rlib"] }], "metadata": { "httpserv": { "module-name": "DemoModule" } } },
                { "id": "h", "name": "httpserv", "version": "0.1.0", "manifest_path": "/src/repo/httpserv/Cargo.toml", "source": httpserv_source, "targets": [] }
            ],
            "resolve": { "root": "demo-id" },
            "target_directory": "/w/demo/target"
        })
    }

    #[test]
    fn module_name_from_the_attribute() {
        assert_eq!(module_name_in_source("use x;\n#[http_module(name = \"HelloWorld\")]\n#[derive(Default)]"), Some("HelloWorld".into()));
        assert_eq!(module_name_in_source("#[http_module(global = G, name = \"Life\", priority(on_begin_request = High))]"), Some("Life".into()));
        assert_eq!(module_name_in_source("#[http_module]\npub struct X;"), None);
    }

    #[test]
    fn reads_the_crate_and_its_httpserv_source() {
        let project = Project::from_metadata(&metadata(Value::Null)).unwrap();
        assert_eq!(project.lib_name, "demo");
        assert_eq!(project.module_name, "DemoModule");
        assert_eq!(project.work_dir(), Path::new("/w/demo/target/httpserv"));
        assert_eq!(project.httpserv, Some(HttpservSource::Path("/src/repo".into())));
        let git = Project::from_metadata(&metadata("git+https://example.invalid/h.git?branch=main#abc123".into())).unwrap();
        assert_eq!(git.httpserv, Some(HttpservSource::Git { url: "https://example.invalid/h.git".into(), rev: Some("abc123".into()) }));
        let registry = Project::from_metadata(&metadata("registry+https://github.com/rust-lang/crates.io-index".into())).unwrap();
        assert_eq!(registry.httpserv, Some(HttpservSource::Version("0.1.0".into())));
    }
}
