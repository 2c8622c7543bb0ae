//! Checks the committed `src/bindings.rs` against the MSVC ABI of `include/httpserv.h`, as clang
//! computes it for x86_64-pc-windows-msvc, i686-pc-windows-msvc and aarch64-pc-windows-msvc:
//!
//! - the classes the header defines are exactly the `_Vtbl` structs of the bindings;
//! - every slot of every vtable (base vtables expanded) has clang's index, method name,
//!   parameter types, return type and constness, and each overload's `_N` suffix follows
//!   declaration order;
//! - class objects are one pointer, the header's enums 4 bytes, and the Rust sizes agree.
//!
//! clang++ is required: without it these tests fail (run scripts/install-toolchain.sh).
//! The type mapping below is this test's own, written independently of httpserv-bindgen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Targets and clang.

struct Triple {
    target: &'static str,
    pointer_size: usize,
    args: &'static [&'static str],
}

const X86_64: Triple = Triple { target: "x86_64-pc-windows-msvc", pointer_size: 8, args: &[] };
const I686: Triple = Triple { target: "i686-pc-windows-msvc", pointer_size: 4, args: &["-D_X86_"] };
// Windows on ARM (IIS runs there): the same LLP64 layout as x64, checked in case clang's MSVC
// ABI for ARM64 differs (it does not, today; the Rust side uses `extern "system"` there too).
const AARCH64: Triple = Triple { target: "aarch64-pc-windows-msvc", pointer_size: 8, args: &[] };

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    manifest_dir().join("include/httpserv.h")
}

/// Compiles `source` for `triple` with clang++ and returns its stdout. Panics with clang's
/// stderr on failure, and with install instructions when clang++ is missing.
fn run_clang(triple: &Triple, probe: &str, source: &str, extra: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("layout-{probe}-{}-{}", triple.target, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let cpp = dir.join(format!("{probe}.cpp"));
    std::fs::write(&cpp, source).unwrap_or_else(|e| panic!("{}: {e}", cpp.display()));
    let sysroot = std::env::var("HTTPSERV_SYSROOT_INCLUDE").unwrap_or_else(|_| "/usr/share/mingw-w64/include".into());
    let mut command = Command::new("clang++");
    command
        .arg(format!("--target={}", triple.target))
        .args(triple.args)
        .arg("-fgnuc-version=4.2.1")
        .arg("-isystem")
        .arg(&sysroot)
        .arg("-I")
        .arg(manifest_dir().join("include"))
        .arg("-c")
        .arg(&cpp)
        .arg("-o")
        .arg(dir.join(format!("{probe}.obj")))
        .args(extra);
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "clang++ not found ({e}). The layout tests need clang (MSVC C++ ABI) and mingw-w64's \
             headers: run scripts/install-toolchain.sh"
        ),
        Err(e) => panic!("running clang++: {e}"),
    };
    if !output.status.success() {
        panic!(
            "clang++ failed for {} ({}): {command:?}\n{}\n(missing headers? run scripts/install-toolchain.sh; \
             HTTPSERV_SYSROOT_INCLUDE overrides {sysroot})",
            triple.target,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(output.stdout).expect("clang output is UTF-8")
}

// ---------------------------------------------------------------------------------------------
// A small C++ tokenizer, enough for the header's class definitions.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

impl Tok {
    fn is(&self, text: &str) -> bool {
        match self {
            Tok::Word(w) => w == text,
            Tok::Punct(c) => text.len() == 1 && text.starts_with(*c),
            Tok::Str(_) => false,
        }
    }
    fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// Tokens of C++ text without comments and preprocessor lines.
fn tokenize(text: &str) -> Vec<Tok> {
    let mut tokens = Vec::new();
    let mut at_line_start = true;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            at_line_start = true;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if at_line_start && c == '#' {
            // A preprocessor line (with continuations).
            while i < chars.len() && !(chars[i] == '\n' && chars[i - 1] != '\\') {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            tokens.push(Tok::Str(chars[start..i].iter().collect()));
            i += 1;
            at_line_start = false;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Tok::Word(chars[start..i].iter().collect()));
            at_line_start = false;
        } else {
            tokens.push(Tok::Punct(c));
            i += 1;
            at_line_start = false;
        }
    }
    tokens
}

/// The index of the token closing the bracket opened at `open`.
fn matching(tokens: &[Tok], open: usize) -> usize {
    let (o, c) = match &tokens[open] {
        Tok::Punct('(') => ('(', ')'),
        Tok::Punct('{') => ('{', '}'),
        Tok::Punct('[') => ('[', ']'),
        other => panic!("not an opening bracket: {other:?}"),
    };
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        if *t == Tok::Punct(o) {
            depth += 1;
        } else if *t == Tok::Punct(c) {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    panic!("unbalanced {o}");
}

/// Splits at top-level commas.
fn split_commas(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{' | '<') => depth += 1,
            Tok::Punct(')' | ']' | '}' | '>') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// C type text from tokens, spelled as clang prints it (`const GUID &`, `PCSTR **`).
fn spell(tokens: &[Tok]) -> String {
    let mut out = String::new();
    for t in tokens {
        match t {
            Tok::Word(w) => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(w);
            }
            Tok::Punct(c @ ('*' | '&')) => {
                if !out.is_empty() && !out.ends_with(['*', '&']) {
                    out.push(' ');
                }
                out.push(*c);
            }
            other => panic!("unexpected token in a type: {other:?}"),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The header: class definitions with their virtual methods in declaration order.

#[derive(Debug, Clone)]
struct HeaderClass {
    name: String,
    base: Option<String>,
    /// Virtual methods in declaration order.
    decls: Vec<Decl>,
}

#[derive(Debug, Clone)]
struct Decl {
    /// `~Class` for the destructor.
    name: String,
    ret: String,
    params: Vec<String>,
    is_const: bool,
    /// Declared `STDMETHODCALLTYPE` (COM, `__stdcall` on x86) rather than a plain member
    /// function (`thiscall` on x86).
    stdcall: bool,
}

#[derive(Debug)]
struct Header {
    classes: BTreeMap<String, HeaderClass>,
    /// Classes and structs only declared (`class IWpfSettings;`), and typedef names of classes.
    other_names: BTreeSet<String>,
}

fn header() -> &'static Header {
    static HEADER: OnceLock<Header> = OnceLock::new();
    HEADER.get_or_init(|| {
        let text = std::fs::read_to_string(header_path()).unwrap_or_else(|e| panic!("{}: {e}", header_path().display()));
        let mut header = parse_header(&text);
        // The ahadmin interfaces derive from IUnknown, which windows.h (unknwn.h) defines as
        // every Windows SDK does: these three methods, in this order.
        let com = |name: &str, ret: &str, params: &[&str]| Decl { name: name.into(), ret: ret.into(), params: params.iter().map(|p| p.to_string()).collect(), is_const: false, stdcall: true };
        header.classes.insert(
            "IUnknown".into(),
            HeaderClass {
                name: "IUnknown".into(),
                base: None,
                decls: vec![com("QueryInterface", "HRESULT", &["const IID &", "void * *"]), com("AddRef", "ULONG", &[]), com("Release", "ULONG", &[])],
            },
        );
        header.other_names.remove("IUnknown");
        header
    })
}

fn parse_header(text: &str) -> Header {
    let tokens = tokenize(text);
    let mut classes = BTreeMap::new();
    let mut other_names = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        if !(tokens[i].is("class") || tokens[i].is("struct")) {
            // `typedef Class Alias;`
            if tokens[i].is("typedef") && tokens.get(i + 3).is_some_and(|t| t.is(";")) {
                if let (Some(target), Some(alias)) = (tokens[i + 1].word(), tokens[i + 2].word()) {
                    if classes.contains_key(target) {
                        other_names.insert(alias.to_string());
                    }
                }
            }
            i += 1;
            continue;
        }
        let is_class = tokens[i].is("class");
        let mut j = i + 1;
        if tokens.get(j).is_some_and(|t| t.is("__declspec")) {
            j = matching(&tokens, j + 1) + 1;
        }
        let Some(name) = tokens.get(j).and_then(Tok::word).map(str::to_string) else {
            i += 1;
            continue;
        };
        j += 1;
        let mut base = None;
        if tokens.get(j).is_some_and(|t| t.is(":")) {
            assert!(tokens[j + 1].is("public"), "{name}: only public single inheritance is expected");
            base = Some(tokens[j + 2].word().expect("base name").to_string());
            assert!(!tokens[j + 3].is(","), "{name}: multiple inheritance");
            j += 3;
        }
        match tokens.get(j) {
            Some(Tok::Punct('{')) if is_class => {
                let end = matching(&tokens, j);
                let decls = parse_decls(&name, &tokens[j + 1..end]);
                assert!(classes.insert(name.clone(), HeaderClass { name, base, decls }).is_none(), "class defined twice");
                i = end + 1;
            }
            Some(Tok::Punct(';')) => {
                other_names.insert(name);
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    for name in classes.keys() {
        other_names.remove(name);
    }
    Header { classes, other_names }
}

/// The virtual method declarations of a class body, in order.
fn parse_decls(class: &str, body: &[Tok]) -> Vec<Decl> {
    let mut decls = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match &body[i] {
            Tok::Punct('{') => i = matching(body, i) + 1,
            t if t.is("virtual") => {
                // The declaration runs to `;` or to an inline body.
                let mut end = i + 1;
                while !(body[end].is(";") || body[end].is("{")) {
                    end = if body[end].is("(") { matching(body, end) + 1 } else { end + 1 };
                }
                decls.push(parse_decl(class, &body[i + 1..end]));
                i = if body[end].is("{") { matching(body, end) + 1 } else { end + 1 };
            }
            _ => i += 1,
        }
    }
    decls
}

fn parse_decl(class: &str, tokens: &[Tok]) -> Decl {
    let open = tokens.iter().position(|t| t.is("(")).unwrap_or_else(|| panic!("{class}: no parameter list in {tokens:?}"));
    let close = matching(tokens, open);
    let mut name = tokens[open - 1].word().expect("method name").to_string();
    let mut ret_end = open - 1;
    if open >= 2 && tokens[open - 2].is("~") {
        name = format!("~{name}");
        ret_end -= 1;
    }
    let params = split_commas(&tokens[open + 1..close]).into_iter().map(param_type).collect::<Vec<_>>();
    let params = if params == ["void"] { Vec::new() } else { params };
    let is_const = tokens.get(close + 1).is_some_and(|t| t.is("const"));
    let ret_tokens: Vec<Tok> = tokens[..ret_end].iter().filter(|t| !t.is("STDMETHODCALLTYPE")).cloned().collect();
    let stdcall = ret_tokens.len() != ret_end;
    Decl { name, ret: spell(&ret_tokens), params, is_const, stdcall }
}

/// The type of one parameter declaration: without default value and name; arrays decay.
fn param_type(tokens: &[Tok]) -> String {
    let tokens = match tokens.iter().position(|t| t.is("=")) {
        Some(eq) => &tokens[..eq],
        None => tokens,
    };
    let (tokens, is_array) = match tokens.iter().position(|t| t.is("[")) {
        Some(open) => (&tokens[..open], true),
        None => (tokens, false),
    };
    let type_words = tokens.iter().filter(|t| t.word().is_some_and(|w| w != "const")).count();
    let tokens = match tokens.last() {
        Some(Tok::Word(w)) if w != "const" && type_words >= 2 => &tokens[..tokens.len() - 1],
        _ => tokens,
    };
    let mut spelled = spell(tokens);
    if is_array {
        spelled.push_str(if spelled.ends_with('*') { "*" } else { " *" });
    }
    spelled
}

// ---------------------------------------------------------------------------------------------
// clang's MSVC vtable dump.

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClangSlot {
    index: usize,
    /// The class that introduces the method.
    class: String,
    /// `~Class` for the (scalar deleting) destructor.
    name: String,
    ret: String,
    params: Vec<String>,
    is_const: bool,
}

impl ClangSlot {
    fn is_destructor(&self) -> bool {
        self.name.starts_with('~')
    }
}

#[derive(Debug)]
struct Dump {
    /// `VFTable indices for 'X'`: the slots X introduces.
    own: BTreeMap<String, Vec<ClangSlot>>,
    /// `VFTable for '...' in 'X_probe'`: every slot of X's vftable, RTTI entry removed.
    complete: BTreeMap<String, Vec<ClangSlot>>,
}

/// Parses one vftable entry, e.g. `const HTTP_REQUEST *IHttpRequest::GetRawHttpRequest() const`
/// or `CHttpModule::~CHttpModule() [scalar deleting]`.
fn parse_entry(index: usize, text: &str) -> Result<ClangSlot, String> {
    let open = text.find('(').ok_or_else(|| format!("no parameter list: {text}"))?;
    let colons = text[..open].rfind("::").ok_or_else(|| format!("no qualified name: {text}"))?;
    let name = text[colons + 2..open].to_string();
    let class_start = text[..colons].rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
    let class = text[class_start..colons].to_string();
    let ret = text[..class_start].trim().to_string();
    let mut depth = 0;
    let mut close = None;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close.ok_or_else(|| format!("unbalanced parentheses: {text}"))?;
    let inner = text[open + 1..close].trim();
    let params = if inner.is_empty() { Vec::new() } else { split_top_level(inner) };
    let mut trailer = text[close + 1..].trim();
    let mut is_const = false;
    while !trailer.is_empty() {
        if let Some(rest) = trailer.strip_prefix("const") {
            is_const = true;
            trailer = rest.trim_start();
        } else if let Some(rest) = trailer.strip_prefix("[scalar deleting]").or_else(|| trailer.strip_prefix("[pure]")) {
            trailer = rest.trim_start();
        } else {
            return Err(format!("unexpected `{trailer}` after the parameters: {text}"));
        }
    }
    Ok(ClangSlot { index, class, name, ret, params, is_const })
}

fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current.trim().to_string());
    parts
}

fn parse_dump(text: &str) -> Result<Dump, String> {
    let mut own: BTreeMap<String, Vec<ClangSlot>> = BTreeMap::new();
    let mut complete: BTreeMap<String, Vec<ClangSlot>> = BTreeMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let (is_indices, rest) = if let Some(rest) = line.strip_prefix("VFTable indices for '") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("VFTable for '") {
            (false, rest)
        } else {
            continue;
        };
        // `X' (N entries).` or `Base' in ['Middle' in ]'X_probe' (N entries).`: the last quoted
        // name is the class whose vftable this is.
        let mut names = Vec::new();
        let mut after = rest;
        loop {
            let quote = after.find('\'').ok_or_else(|| format!("bad section header: {line}"))?;
            names.push(&after[..quote]);
            after = &after[quote + 1..];
            match after.strip_prefix(" in '") {
                Some(next) => after = next,
                None => break,
            }
        }
        let last = names[names.len() - 1];
        let (class, in_probe) = match last.strip_suffix("_probe") {
            Some(probed) if names.len() > 1 => (probed.to_string(), true),
            _ => (last.to_string(), false),
        };
        let count: usize = after
            .trim()
            .strip_prefix('(')
            .and_then(|a| a.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("no entry count in: {line}"))?;
        let mut entries = Vec::new();
        while let Some(entry) = lines.next_if(|l| !l.trim().is_empty()) {
            let (index, body) = entry.split_once(" | ").ok_or_else(|| format!("bad entry: {entry}"))?;
            let index: usize = index.trim().parse().map_err(|_| format!("bad index: {entry}"))?;
            entries.push((index, body.trim().to_string()));
        }
        if entries.len() != count {
            return Err(format!("{line}: {} entries listed", entries.len()));
        }
        if is_indices {
            let slots = entries.iter().map(|(i, e)| parse_entry(*i, e)).collect::<Result<Vec<_>, _>>()?;
            if let Some(previous) = own.get(&class) {
                if *previous != slots {
                    return Err(format!("two different index sections for {class}"));
                }
            }
            own.insert(class, slots);
        } else if in_probe {
            // Drop the RTTI entry and renumber from 0.
            let mut slots = Vec::new();
            let mut offset = 0;
            for (i, e) in &entries {
                if e.ends_with(" RTTI") {
                    offset += 1;
                    continue;
                }
                slots.push(parse_entry(i - offset, e)?);
            }
            complete.insert(class, slots);
        }
    }
    Ok(Dump { own, complete })
}

fn probe_source(classes: &BTreeMap<String, HeaderClass>) -> String {
    // windows.h's A/W macros rename methods of the header (IHttpUser::GetUserName becomes
    // GetUserNameA or GetUserNameW). A name does not change a slot; the bindings use the name
    // as written, so the probe undefines such macros before the classes are declared.
    let mut source = String::from("#include <winsock2.h>\n#include <windows.h>\n#include <http.h>\n");
    let names: BTreeSet<&str> = classes.values().flat_map(|c| &c.decls).map(|d| d.name.as_str()).filter(|n| !n.starts_with('~')).collect();
    for name in names {
        source.push_str(&format!("#ifdef {name}\n#undef {name}\n#endif\n"));
    }
    source.push_str("#include <httpserv.h>\n\n// Emits every class's vftable: one derived class with an out-of-line constructor each.\n");
    for name in classes.keys() {
        source.push_str(&format!("struct {name}_probe : {name} {{ {name}_probe(); }};\n{name}_probe::{name}_probe() {{}}\n"));
    }
    source
}

/// The clang layout of one triple: every class's complete slot list, built from the index
/// sections along the base chain and cross-checked with the complete vftables.
struct ClangLayout {
    slots: BTreeMap<String, Vec<ClangSlot>>,
}

fn clang_layout(triple: &'static Triple) -> &'static ClangLayout {
    static LAYOUTS: [OnceLock<ClangLayout>; 2] = [OnceLock::new(), OnceLock::new()];
    let cell = if triple.pointer_size == 8 { &LAYOUTS[0] } else { &LAYOUTS[1] };
    cell.get_or_init(|| {
        let header = header();
        let text = run_clang(triple, "vtables", &probe_source(&header.classes), &["-Xclang", "-fdump-vtable-layouts"]);
        let dump = parse_dump(&text).unwrap_or_else(|e| panic!("{}: parsing clang's vtable dump: {e}", triple.target));
        let mut slots = BTreeMap::new();
        for name in header.classes.keys() {
            let full = chain(&dump, header, name).unwrap_or_else(|e| panic!("{}: {e}", triple.target));
            let complete = dump.complete.get(name).unwrap_or_else(|| panic!("{}: clang emitted no vftable for {name}_probe", triple.target));
            assert_eq!(full.len(), complete.len(), "{}: {name}: index sections and complete vftable disagree on the count", triple.target);
            for (a, b) in full.iter().zip(complete) {
                let same = a.index == b.index
                    && if a.is_destructor() { b.is_destructor() } else { a == b };
                assert!(same, "{}: {name}: index sections give {a:?}, the complete vftable {b:?}", triple.target);
            }
            slots.insert(name.clone(), full);
        }
        ClangLayout { slots }
    })
}

/// A class's complete slot list from the index sections: its base's, then its own.
fn chain(dump: &Dump, header: &Header, name: &str) -> Result<Vec<ClangSlot>, String> {
    let class = header.classes.get(name).ok_or_else(|| format!("{name} is not a class of the header"))?;
    let mut slots = match &class.base {
        Some(base) => chain(dump, header, base)?,
        None => Vec::new(),
    };
    let own = dump.own.get(name).ok_or_else(|| format!("no `VFTable indices for '{name}'` section"))?;
    for slot in own {
        if slot.index != slots.len() {
            return Err(format!("{name}: expected slot {} next, clang lists {slot:?}", slots.len()));
        }
        if slot.class != name {
            return Err(format!("{name}: index section lists a method of {}: {slot:?}", slot.class));
        }
        slots.push(slot.clone());
    }
    Ok(slots)
}

// ---------------------------------------------------------------------------------------------
// C type spellings → Rust type text (this test's own table; see the module doc).

/// Names spelled differently on the Rust side.
fn mapped_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "DWORD" | "ULONG" | "UINT" => "u32",
        "LONG" | "INT" => "i32",
        "USHORT" => "u16",
        "UCHAR" | "BYTE" => "u8",
        "ULONGLONG" | "HTTP_OPAQUE_ID" | "ULARGE_INTEGER" => "u64",
        "bool" => "bool",
        "PBYTE" => "*mut u8",
        "PVOID" => "*mut c_void",
        "PULONG" => "*mut u32",
        "LPCGUID" => "*const GUID",
        "IID" => "GUID",
        "PSOCKADDR" => "*mut SOCKADDR",
        "LPOVERLAPPED" => "*mut OVERLAPPED",
        "LPCWSTR" => "PCWSTR",
        "LPCSTR" => "PCSTR",
        "LPWSTR" => "PWSTR",
        // http.h's HTTP_REQUEST/HTTP_RESPONSE are the V2 structures for IIS 7 and later.
        "HTTP_REQUEST" => "HTTP_REQUEST_V2",
        "HTTP_RESPONSE" => "HTTP_RESPONSE_V2",
        _ => return None,
    })
}

/// Names the Rust side spells as in C: windows-sys types and the header's own enums/typedefs.
const SAME_NAME: &[&str] = &[
    "BOOL",
    "HRESULT",
    "PCSTR",
    "PCWSTR",
    "PWSTR",
    "HANDLE",
    "PSID",
    "FILETIME",
    "GUID",
    "HTTP_HEADER_ID",
    "HTTP_DATA_CHUNK",
    "HTTP_CACHE_POLICY",
    "HTTP_LOG_DATA",
    "HTTP_SSL_CLIENT_CERT_INFO",
    "HTTP_REQUEST_PROPERTY",
    "HTTP_TRACE_EVENT",
    "HTTP_TRACE_CONFIGURATION",
    "LPOVERLAPPED_COMPLETION_ROUTINE",
    "REQUEST_NOTIFICATION_STATUS",
    "GLOBAL_NOTIFICATION_STATUS",
    "CACHE_OPERATION",
    "HTTP_CONTEXT_INTERFACE_VERSION",
    "HTTP_SERVER_INTERFACE_VERSION",
    "HTTP_MODULE_ID",
    "PFN_ASYNC_COMPLETION",
    "PFN_WEBSOCKET_COMPLETION",
    "IAppHostAdminManager",
    "IAppHostConfigException",
    "BSTR",
    "VARIANT",
];

/// The Rust spelling of a C type as clang prints it; `None` for `void`.
fn c_to_rust(c: &str, header: &Header) -> Result<Option<String>, String> {
    let mut words = Vec::new();
    let mut pointers = 0;
    let mut leading_const = false;
    let spaced = c.replace('*', " * ").replace('&', " & ");
    for token in spaced.split_whitespace() {
        match token {
            "*" | "&" => pointers += 1,
            "const" if pointers == 0 => leading_const = true,
            "const" => return Err(format!("`{c}`: a const pointer is not expected")),
            "struct" | "class" | "enum" => {}
            word if pointers == 0 => words.push(word),
            _ => return Err(format!("`{c}`: unexpected `{token}` after `*`")),
        }
    }
    let [name] = words[..] else { return Err(format!("`{c}`: expected one type name")) };
    // `VOID` is winnt.h's `#define VOID void`, as written in the header.
    let base = if name == "void" || name == "VOID" {
        if pointers == 0 {
            return Ok(None);
        }
        "c_void".to_string()
    } else if let Some(rust) = mapped_name(name) {
        rust.to_string()
    } else if SAME_NAME.contains(&name) || header.classes.contains_key(name) || header.other_names.contains(name) {
        name.to_string()
    } else {
        return Err(format!("`{c}`: no Rust mapping for `{name}` in tests/layout.rs"));
    };
    let mut rust = base;
    for level in 0..pointers {
        rust = format!("{} {rust}", if level == 0 && leading_const { "*const" } else { "*mut" });
    }
    Ok(Some(rust))
}

// ---------------------------------------------------------------------------------------------
// The Rust side, parsed with syn.

#[derive(Debug, Clone, PartialEq, Eq)]
struct RustSlot {
    /// The class whose `_Vtbl` declares the field.
    class: String,
    field: String,
    /// (name, type) including `this`.
    params: Vec<(String, String)>,
    ret: Option<String>,
    /// From `/// slot N: \`signature\``.
    doc_slot: usize,
    /// Declared with `commethod!` (`extern "system"` on every target) rather than `vmethod!`.
    com: bool,
    doc_signature: String,
}

struct Bindings {
    /// Per `_Vtbl` struct (by class name): the base, if the first field is `base__`, and the
    /// slots it declares itself.
    vtbls: BTreeMap<String, (Option<String>, Vec<RustSlot>)>,
    /// Object structs: name → the type of `lpVtbl`, if that is their only field.
    objects: BTreeMap<String, Option<String>>,
}

fn bindings() -> &'static Bindings {
    static BINDINGS: OnceLock<Bindings> = OnceLock::new();
    BINDINGS.get_or_init(|| {
        let path = manifest_dir().join("src/bindings.rs");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse_bindings(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

struct VMethod {
    params: Vec<(syn::Ident, syn::Type)>,
    ret: Option<syn::Type>,
}

impl syn::parse::Parse for VMethod {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let content;
        syn::parenthesized!(content in input);
        let mut params = Vec::new();
        while !content.is_empty() {
            let name: syn::Ident = content.parse()?;
            content.parse::<syn::Token![:]>()?;
            let ty: syn::Type = content.parse()?;
            params.push((name, ty));
            if content.is_empty() {
                break;
            }
            content.parse::<syn::Token![,]>()?;
        }
        let ret = if input.peek(syn::Token![->]) {
            input.parse::<syn::Token![->]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the vmethod! signature"));
        }
        Ok(VMethod { params, ret })
    }
}

fn type_text(ty: &syn::Type) -> Result<String, String> {
    match ty {
        syn::Type::Ptr(p) => Ok(format!("{} {}", if p.mutability.is_some() { "*mut" } else { "*const" }, type_text(&p.elem)?)),
        syn::Type::Path(p) if p.qself.is_none() => {
            let mut segments = Vec::new();
            for s in &p.path.segments {
                if !s.arguments.is_none() {
                    return Err(format!("generic arguments are not expected: {ty:?}"));
                }
                segments.push(s.ident.to_string());
            }
            Ok(segments.join("::"))
        }
        syn::Type::Paren(p) => type_text(&p.elem),
        syn::Type::Group(g) => type_text(&g.elem),
        other => Err(format!("unexpected type {other:?}")),
    }
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut doc = String::new();
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("doc") {
                if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                    doc.push_str(s.value().trim());
                }
            }
        }
    }
    doc
}

fn parse_bindings(text: &str) -> Result<Bindings, String> {
    let file = syn::parse_file(text).map_err(|e| format!("does not parse: {e}"))?;
    let mut vtbls = BTreeMap::new();
    let mut objects = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Struct(s) = item else { continue };
        let name = s.ident.to_string();
        let syn::Fields::Named(fields) = &s.fields else { continue };
        let Some(class) = name.strip_suffix("_Vtbl") else {
            let fields: Vec<_> = fields.named.iter().collect();
            let vtbl = match &fields[..] {
                [f] if f.ident.as_ref().is_some_and(|i| i == "lpVtbl") => Some(type_text(&f.ty)?),
                _ => None,
            };
            objects.insert(name, vtbl);
            continue;
        };
        let mut base = None;
        let mut slots = Vec::new();
        for (position, field) in fields.named.iter().enumerate() {
            let field_name = field.ident.as_ref().ok_or("unnamed field")?.to_string();
            if field_name == "base__" {
                if position != 0 {
                    return Err(format!("{name}: base__ is not the first field"));
                }
                let ty = type_text(&field.ty)?;
                base = Some(ty.strip_suffix("_Vtbl").ok_or_else(|| format!("{name}: base__ is a {ty}"))?.to_string());
                continue;
            }
            let syn::Type::Macro(mac) = &field.ty else { return Err(format!("{name}::{field_name} is not a vmethod!")) };
            let com = mac.mac.path.is_ident("commethod");
            if !com && !mac.mac.path.is_ident("vmethod") {
                return Err(format!("{name}::{field_name} is neither a vmethod! nor a commethod!"));
            }
            let method: VMethod = syn::parse2(mac.mac.tokens.clone()).map_err(|e| format!("{name}::{field_name}: {e}"))?;
            let mut params = Vec::new();
            for (param, ty) in &method.params {
                params.push((param.to_string(), type_text(ty)?));
            }
            let ret = method.ret.as_ref().map(type_text).transpose()?;
            let doc = doc_text(&field.attrs);
            let (doc_slot, doc_signature) = doc
                .strip_prefix("slot ")
                .and_then(|d| d.split_once(": `"))
                .and_then(|(n, sig)| Some((n.parse().ok()?, sig.strip_suffix('`')?.to_string())))
                .ok_or_else(|| format!("{name}::{field_name}: doc is not `slot N: `signature``: {doc:?}"))?;
            slots.push(RustSlot { class: class.to_string(), field: field_name, params, ret, doc_slot, doc_signature, com });
        }
        vtbls.insert(class.to_string(), (base, slots));
    }
    Ok(Bindings { vtbls, objects })
}

impl Bindings {
    /// A class's complete slot list: `base__` expanded recursively.
    fn expanded(&self, class: &str) -> Result<Vec<RustSlot>, String> {
        let (base, own) = self.vtbls.get(class).ok_or_else(|| format!("no {class}_Vtbl struct"))?;
        let mut slots = match base {
            Some(base) => self.expanded(base)?,
            None => Vec::new(),
        };
        slots.extend(own.iter().cloned());
        Ok(slots)
    }
}

// ---------------------------------------------------------------------------------------------
// The comparisons.

/// The C++ name a Rust field stands for: `SetHeader_2` → `SetHeader`, `Destructor` → `~Class`.
fn cpp_name(slot: &RustSlot) -> String {
    if slot.field == "Destructor" {
        return format!("~{}", slot.class);
    }
    match slot.field.rsplit_once('_') {
        Some((stem, n)) if !stem.is_empty() && n.parse::<usize>().is_ok_and(|n| n >= 2) => stem.to_string(),
        _ => slot.field.clone(),
    }
}

/// Compares a class's complete Rust slot list with clang's; every difference is reported.
fn compare_class(class: &str, clang: &[ClangSlot], rust: &[RustSlot], header: &Header) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if clang.len() != rust.len() {
        errors.push(format!("{class}: clang has {} slots, {class}_Vtbl {}", clang.len(), rust.len()));
    }
    for (i, (c, r)) in clang.iter().zip(rust).enumerate() {
        let at = format!("{class} slot {i} ({}::{} vs {}::{})", c.class, c.name, r.class, r.field);
        if c.index != i {
            errors.push(format!("{at}: clang index {}", c.index));
        }
        if r.doc_slot != i {
            errors.push(format!("{at}: doc comment says slot {}", r.doc_slot));
        }
        if c.class != r.class {
            errors.push(format!("{at}: introduced by {} in C++, declared in {}_Vtbl", c.class, r.class));
        }
        if cpp_name(r) != c.name {
            errors.push(format!("{at}: method name differs"));
        }
        let this = ("this".to_string(), format!("*mut {}", r.class));
        if r.params.first() != Some(&this) {
            errors.push(format!("{at}: first parameter is {:?}, expected `this: *mut {}`", r.params.first(), r.class));
        }
        let rust_params: Vec<&str> = r.params.iter().skip(1).map(|(_, t)| t.as_str()).collect();
        let (expected_params, expected_ret) = if c.is_destructor() {
            // The scalar deleting destructor: (this, flags) -> this.
            (Ok(vec!["u32".to_string()]), Ok(Some("*mut c_void".to_string())))
        } else {
            let params = c.params.iter().map(|p| c_to_rust(p, header).map(|t| t.unwrap_or_else(|| "()".into()))).collect::<Result<Vec<_>, _>>();
            (params, c_to_rust(&c.ret, header))
        };
        match expected_params {
            Ok(expected) if expected != rust_params => errors.push(format!("{at}: parameters {rust_params:?}, clang {:?} → {expected:?}", c.params)),
            Err(e) => errors.push(format!("{at}: {e}")),
            Ok(_) => {}
        }
        match expected_ret {
            Ok(expected) if expected != r.ret => errors.push(format!("{at}: returns {:?}, clang `{}` → {expected:?}", r.ret, c.ret)),
            Err(e) => errors.push(format!("{at}: {e}")),
            Ok(_) => {}
        }
        if r.doc_signature.ends_with(") const") != c.is_const {
            errors.push(format!("{at}: const is {} in C++, doc says `{}`", c.is_const, r.doc_signature));
        }
        let doc_name = if c.is_destructor() { format!("{}(", c.name) } else { format!(" {}(", c.name) };
        if !r.doc_signature.contains(&doc_name) {
            errors.push(format!("{at}: doc signature `{}` does not name {}", r.doc_signature, c.name));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks the naming of overloads: the n-th declared overload of `Name` (n ≥ 2) is the field
/// `Name_n`, the first `Name`; each field's signature is that declaration's.
fn check_overload_names(class: &HeaderClass, own: &[RustSlot], header: &Header) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut ordinals: BTreeMap<&str, usize> = BTreeMap::new();
    let mut expected_fields = BTreeSet::new();
    for decl in &class.decls {
        let ordinal = ordinals.entry(&decl.name).or_insert(0);
        *ordinal += 1;
        let field = if decl.name.starts_with('~') {
            "Destructor".to_string()
        } else if *ordinal == 1 {
            decl.name.clone()
        } else {
            format!("{}_{}", decl.name, ordinal)
        };
        expected_fields.insert(field.clone());
        let Some(slot) = own.iter().find(|s| s.field == field) else {
            errors.push(format!("{}: no field {field} for declaration #{ordinal} of {}", class.name, decl.name));
            continue;
        };
        if decl.name.starts_with('~') {
            continue;
        }
        if slot.com != decl.stdcall {
            errors.push(format!(
                "{}::{field}: declared {} in the header, but a {} in Rust",
                class.name,
                if decl.stdcall { "STDMETHODCALLTYPE" } else { "without STDMETHODCALLTYPE" },
                if slot.com { "commethod!" } else { "vmethod!" }
            ));
        }
        let params: Result<Vec<String>, String> = decl.params.iter().map(|p| c_to_rust(p, header).map(|t| t.unwrap_or_else(|| "()".into()))).collect();
        let rust_params: Vec<String> = slot.params.iter().skip(1).map(|(_, t)| t.clone()).collect();
        match params {
            Ok(p) if p != rust_params => errors.push(format!("{}::{field}: parameters {rust_params:?}, but declaration #{ordinal} of {} has {p:?}", class.name, decl.name)),
            Err(e) => errors.push(format!("{}::{field}: {e}", class.name)),
            Ok(_) => {}
        }
        match c_to_rust(&decl.ret, header) {
            Ok(ret) if ret != slot.ret => errors.push(format!("{}::{field}: returns {:?}, but declaration #{ordinal} returns {ret:?}", class.name, slot.ret)),
            Err(e) => errors.push(format!("{}::{field}: {e}", class.name)),
            Ok(_) => {}
        }
        if slot.doc_signature.ends_with(") const") != decl.is_const {
            errors.push(format!("{}::{field}: constness differs from declaration #{ordinal}", class.name));
        }
    }
    let actual: BTreeSet<String> = own.iter().map(|s| s.field.clone()).collect();
    if actual != expected_fields {
        errors.push(format!(
            "{}: fields {:?} are not declared, declarations {:?} have no field",
            class.name,
            actual.difference(&expected_fields).collect::<Vec<_>>(),
            expected_fields.difference(&actual).collect::<Vec<_>>()
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Every class of both sides, compared.
fn check_triple(triple: &'static Triple) {
    let header = header();
    let bindings = bindings();
    let layout = clang_layout(triple);
    let mut errors = Vec::new();
    let (mut slots, mut own_slots) = (0, 0);
    for (name, class) in &header.classes {
        let rust = match bindings.expanded(name) {
            Ok(rust) => rust,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Err(e) = compare_class(name, &layout.slots[name], &rust, header) {
            errors.extend(e);
        }
        if let Err(e) = check_overload_names(class, &bindings.vtbls[name].1, header) {
            errors.extend(e);
        }
        if class.base != bindings.vtbls[name].0 {
            errors.push(format!("{name}: base {:?} in C++, {:?} in Rust", class.base, bindings.vtbls[name].0));
        }
        slots += layout.slots[name].len();
        own_slots += layout.slots[name].iter().filter(|s| s.class == *name).count();
    }
    assert!(errors.is_empty(), "{}: {} differences between clang and src/bindings.rs:\n{}", triple.target, errors.len(), errors.join("\n"));
    eprintln!(
        "{}: {} classes match clang: {own_slots} slots introduced, {slots} in all vtables (bases expanded)",
        triple.target,
        header.classes.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn header_classes_are_the_rust_vtables() {
    let header = header();
    let bindings = bindings();
    let from_header: BTreeSet<&str> = header.classes.keys().map(String::as_str).collect();
    let from_rust: BTreeSet<&str> = bindings.vtbls.keys().map(String::as_str).collect();
    assert!(from_header.len() >= 60, "only {} classes found in the header: is the scan broken?", from_header.len());
    assert_eq!(
        from_header,
        from_rust,
        "classes without a _Vtbl struct: {:?}; _Vtbl structs without a class: {:?}",
        from_header.difference(&from_rust).collect::<Vec<_>>(),
        from_rust.difference(&from_header).collect::<Vec<_>>()
    );
    for name in &from_header {
        assert_eq!(
            bindings.objects.get(*name),
            Some(&Some(format!("*const {name}_Vtbl"))),
            "{name} must be `struct {name} {{ lpVtbl: *const {name}_Vtbl }}`"
        );
    }
    // Forward declarations are not definitions.
    for name in ["IWpfSettings", "IWorkerProcessFramework", "IHttpTraceContext", "IHttpTokenEntry"] {
        assert!(header.other_names.contains(name) || header.classes.contains_key(name), "{name}");
    }
    assert!(!header.classes.contains_key("IWpfSettings"));
    assert!(header.classes.contains_key("IHttpTokenEntry"), "declared early, defined later");
}

#[test]
fn vtables_match_clang_x86_64() {
    check_triple(&X86_64);
}

#[test]
fn vtables_match_clang_i686() {
    check_triple(&I686);
}

#[test]
fn vtables_match_clang_aarch64() {
    check_triple(&AARCH64);
}

/// Looks a Rust field up by name and checks its position and doc slot.
fn rust_slot(class: &str, field: &str) -> (usize, RustSlot) {
    let slots = bindings().expanded(class).unwrap();
    let position = slots.iter().position(|s| s.class == class && s.field == field).unwrap_or_else(|| panic!("no {class}_Vtbl::{field}"));
    assert_eq!(slots[position].doc_slot, position, "{class}::{field}: doc slot");
    (position, slots[position].clone())
}

fn clang_slot<'a>(slots: &'a [ClangSlot], name: &str, first_param: Option<&str>) -> &'a ClangSlot {
    let found: Vec<_> = slots.iter().filter(|s| s.name == name && first_param.map_or(true, |p| s.params.first().map(String::as_str) == Some(p))).collect();
    assert_eq!(found.len(), 1, "{name}({first_param:?}): {found:?}");
    found[0]
}

#[test]
fn spot_checks() {
    for triple in [&X86_64, &I686, &AARCH64] {
        let layout = clang_layout(triple);
        let t = triple.target;

        let context = &layout.slots["IHttpContext"];
        assert_eq!(context.len(), 39, "{t}");
        assert_eq!(clang_slot(context, "CancelIo", None).index, 36, "{t}");
        assert_eq!(rust_slot("IHttpContext", "CancelIo").0, 36);

        let response = &layout.slots["IHttpResponse"];
        assert_eq!(clang_slot(response, "SetHeader", Some("HTTP_HEADER_ID")).index, 4, "{t}");
        assert_eq!(clang_slot(response, "SetHeader", Some("PCSTR")).index, 5, "{t}");
        let (by_id, slot) = rust_slot("IHttpResponse", "SetHeader_2");
        assert_eq!((by_id, slot.params[1].1.as_str()), (4, "HTTP_HEADER_ID"));
        let (by_name, slot) = rust_slot("IHttpResponse", "SetHeader");
        assert_eq!((by_name, slot.params[1].1.as_str()), (5, "PCSTR"));

        let module = &layout.slots["CHttpModule"];
        assert_eq!(module.len(), 31, "{t}");
        assert_eq!(clang_slot(module, "Dispose", None).index, 29, "{t}");
        assert_eq!(clang_slot(module, "~CHttpModule", None).index, 30, "{t}");
        assert_eq!(rust_slot("CHttpModule", "Dispose").0, 29);
        assert_eq!(rust_slot("CHttpModule", "Destructor").0, 30);

        let global = &layout.slots["CGlobalModule"];
        assert_eq!(global.len(), 17, "{t}");
        assert_eq!(clang_slot(global, "Terminate", None).index, 13, "{t}");
        assert_eq!(rust_slot("CGlobalModule", "Terminate").0, 13);

        // iiswebsocket.h: IHttpStoredContext's one slot, then the six in declaration order.
        let websocket = &layout.slots["IWebSocketContext"];
        assert_eq!(websocket.len(), 7, "{t}");
        for (index, name) in ["CleanupStoredContext", "WriteFragment", "ReadFragment", "SendConnectionClose", "GetCloseStatus", "CloseTcpConnection", "CancelOutstandingIO"].iter().enumerate() {
            assert_eq!(clang_slot(websocket, name, None).index, index, "{t}: {name}");
        }
        assert_eq!(rust_slot("IWebSocketContext", "ReadFragment").0, 2);
        let (close, slot) = rust_slot("IWebSocketContext", "SendConnectionClose");
        assert_eq!((close, slot.params[2].1.as_str()), (3, "u16"), "the status code is passed by value");

        // A const twin is an overload: the const one, declared second, comes first.
        let request = &layout.slots["IHttpRequest"];
        assert!(request[0].is_const && request[0].name == "GetRawHttpRequest", "{t}: {:?}", request[0]);
        assert_eq!(rust_slot("IHttpRequest", "GetRawHttpRequest_2").0, 0);
    }
}

#[test]
fn comparison_detects_mismatches() {
    let header = header();
    let bindings = bindings();
    let clang = &clang_layout(&X86_64).slots["IHttpResponse"];
    let rust = bindings.expanded("IHttpResponse").unwrap();
    compare_class("IHttpResponse", clang, &rust, header).expect("the real layouts agree");

    // The two SetHeader overloads swapped.
    let mut swapped = clang.clone();
    swapped.swap(4, 5);
    let errors = compare_class("IHttpResponse", &swapped, &rust, header).expect_err("swapped slots must fail");
    assert!(errors.iter().any(|e| e.contains("slot 4") && e.contains("parameters")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("slot 5")), "{errors:#?}");

    // A missing slot.
    let errors = compare_class("IHttpResponse", &clang[..clang.len() - 1], &rust, header).expect_err("a missing slot must fail");
    assert!(errors[0].contains("slots"), "{errors:#?}");

    // A different parameter type, a different name, lost constness.
    let mut changed = clang.clone();
    changed[14].params[0] = "USHORT".into();
    changed[15].name = "GetKernelCacheDisabled".into();
    changed[9].is_const = false;
    let errors = compare_class("IHttpResponse", &changed, &rust, header).expect_err("changed slots must fail");
    for (slot, what) in [(14, "parameters"), (15, "name differs"), (9, "const")] {
        assert!(errors.iter().any(|e| e.contains(&format!("slot {slot} ")) && e.contains(what)), "slot {slot}: {errors:#?}");
    }
    assert!(errors.iter().all(|e| ["slot 9 ", "slot 14 ", "slot 15 "].iter().any(|s| e.contains(s))), "{errors:#?}");

    // Overload suffixes swapped on the Rust side: the slots still match clang by type, but
    // `_2` no longer names the second declaration.
    let own = &bindings.vtbls["IHttpResponse"].1;
    let mut renamed = own.clone();
    let a = renamed.iter().position(|s| s.field == "SetHeader").unwrap();
    let b = renamed.iter().position(|s| s.field == "SetHeader_2").unwrap();
    renamed[a].field = "SetHeader_2".into();
    renamed[b].field = "SetHeader".into();
    check_overload_names(&header.classes["IHttpResponse"], own, header).expect("the real names agree");
    let errors = check_overload_names(&header.classes["IHttpResponse"], &renamed, header).expect_err("swapped names must fail");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn type_mapping() {
    let header = header();
    let cases = [
        ("USHORT", Some("u16")),
        ("DWORD *", Some("*mut u32")),
        ("const HTTP_REQUEST *", Some("*const HTTP_REQUEST_V2")),
        ("const GUID &", Some("*const GUID")),
        ("PCSTR **", Some("*mut *mut PCSTR")),
        ("void *", Some("*mut c_void")),
        ("void", None),
        ("IHttpContext **", Some("*mut *mut IHttpContext")),
        ("IHttpApplicationStartProvider *", Some("*mut IHttpApplicationStartProvider")),
    ];
    for (c, rust) in cases {
        assert_eq!(c_to_rust(c, header).unwrap().as_deref(), rust, "{c}");
    }
    assert!(c_to_rust("NOT_A_TYPE", header).is_err());
    assert!(c_to_rust("DWORD *const", header).is_err());
}

// ---------------------------------------------------------------------------------------------
// Sizes.

const HEADER_ENUMS: [&str; 5] = ["REQUEST_NOTIFICATION_STATUS", "GLOBAL_NOTIFICATION_STATUS", "CACHE_OPERATION", "HTTP_SERVER_INTERFACE_VERSION", "HTTP_CONTEXT_INTERFACE_VERSION"];

/// Compiles static_asserts: every class object is one pointer, every enum 4 bytes.
fn check_sizes_with_clang(triple: &Triple) {
    let p = triple.pointer_size;
    let mut source = format!("#include <httpserv.h>\n\nstatic_assert(sizeof(void*) == {p}, \"pointer size\");\n");
    for name in header().classes.keys() {
        source.push_str(&format!("static_assert(sizeof({name}) == {p} && alignof({name}) == {p}, \"{name} is not one pointer\");\n"));
    }
    for name in HEADER_ENUMS {
        source.push_str(&format!("static_assert(sizeof({name}) == 4 && alignof({name}) == 4, \"{name} is not 4 bytes\");\n"));
    }
    run_clang(triple, "sizes", &source, &[]);
}

/// The calling convention of every method on i686, where it matters: clang must agree that each
/// `STDMETHODCALLTYPE` method of the header is `__stdcall` and every other one `__thiscall`
/// (the Rust side is `commethod!`/`vmethod!` to match, checked in `check_overload_names`).
#[test]
fn calling_conventions_i686() {
    let header = header();
    // `static_cast` to a member-function pointer type of the given convention picks the
    // overload of that signature and fails to compile when the convention differs.
    let mut source = String::from("#include <httpserv.h>\n\nvoid conventions()\n{\n");
    let mut checked = (0, 0);
    for class in header.classes.values() {
        for decl in class.decls.iter().filter(|d| !d.name.starts_with('~')) {
            let convention = if decl.stdcall { "__stdcall" } else { "__thiscall" };
            let constness = if decl.is_const { " const" } else { "" };
            source.push_str(&format!(
                "    (void)static_cast<{r} ({convention} {c}::*)({params}){constness}>(&{c}::{m});\n",
                c = class.name,
                m = decl.name,
                r = decl.ret,
                params = decl.params.join(", "),
            ));
            if decl.stdcall {
                checked.0 += 1;
            } else {
                checked.1 += 1;
            }
        }
    }
    source.push_str("}\n");
    assert!(checked.0 >= 40 && checked.1 >= 300, "only {checked:?} (stdcall, thiscall) methods checked");
    run_clang(&I686, "conventions", &source, &[]);
    // The check can fail: a COM method taken as __thiscall, or a C++ one as __stdcall.
    for wrong in [
        "(void)static_cast<HRESULT (__thiscall IAppHostElement::*)()>(&IAppHostElement::Clear);",
        "(void)static_cast<HRESULT (__stdcall IHttpContext::*)()>(&IHttpContext::CancelIo);",
    ] {
        let source = format!("#include <httpserv.h>\nvoid wrong()\n{{\n    {wrong}\n}}\n");
        let result = std::panic::catch_unwind(|| run_clang(&I686, "conventions-wrong", &source, &[]));
        assert!(result.is_err(), "clang accepted `{wrong}`");
    }
}

#[test]
fn sizes_x86_64() {
    check_sizes_with_clang(&X86_64);
}

#[test]
fn sizes_i686() {
    check_sizes_with_clang(&I686);
}

#[test]
fn sizes_aarch64() {
    check_sizes_with_clang(&AARCH64);
}

/// Sizes of a class's object and vtable structs on the host.
#[derive(Debug)]
struct RustClass {
    name: &'static str,
    vtbl: &'static str,
    size: usize,
    align: usize,
    vtbl_size: usize,
    vtbl_align: usize,
}

/// Every class of the header as `Class / Class_Vtbl`, for the host size checks
/// (`every_class_is_listed` keeps this list complete and correctly paired).
macro_rules! rust_classes {
    ($($name:ident / $vtbl:ident),* $(,)?) => {
        fn rust_classes() -> Vec<RustClass> {
            use std::mem::{align_of, size_of};
            vec![$(RustClass {
                name: stringify!($name),
                vtbl: stringify!($vtbl),
                size: size_of::<httpserv_sys::$name>(),
                align: align_of::<httpserv_sys::$name>(),
                vtbl_size: size_of::<httpserv_sys::$vtbl>(),
                vtbl_align: align_of::<httpserv_sys::$vtbl>(),
            }),*]
        }
    };
}

rust_classes! {
    IUnknown / IUnknown_Vtbl, IAppHostConfigException / IAppHostConfigException_Vtbl,
    IAppHostProperty / IAppHostProperty_Vtbl, IAppHostPropertyCollection / IAppHostPropertyCollection_Vtbl,
    IAppHostElementCollection / IAppHostElementCollection_Vtbl,
    IAppHostChildElementCollection / IAppHostChildElementCollection_Vtbl, IAppHostElement / IAppHostElement_Vtbl,
    IAppHostAdminManager / IAppHostAdminManager_Vtbl,
    IHttpStoredContext / IHttpStoredContext_Vtbl, IHttpModuleContextContainer / IHttpModuleContextContainer_Vtbl,
    INamedContextContainer / INamedContextContainer_Vtbl,
    IDispensedHttpModuleContextContainer / IDispensedHttpModuleContextContainer_Vtbl,
    IHttpPerfCounterInfo / IHttpPerfCounterInfo_Vtbl, IHttpApplication / IHttpApplication_Vtbl,
    IHttpApplication2 / IHttpApplication2_Vtbl, IHttpUrlInfo / IHttpUrlInfo_Vtbl, IScriptMapInfo / IScriptMapInfo_Vtbl,
    IMetadataInfo / IMetadataInfo_Vtbl, IReferencedMetadataInfo / IReferencedMetadataInfo_Vtbl,
    IHttpRequest / IHttpRequest_Vtbl, IHttpRequest2 / IHttpRequest2_Vtbl, IHttpRequest3 / IHttpRequest3_Vtbl,
    IHttpRequest4 / IHttpRequest4_Vtbl, IHttpCachePolicy / IHttpCachePolicy_Vtbl,
    IHttpCachePolicy2 / IHttpCachePolicy2_Vtbl, IHttpResponse / IHttpResponse_Vtbl,
    IHttpResponse2 / IHttpResponse2_Vtbl, IHttpResponse3 / IHttpResponse3_Vtbl, IHttpResponse4 / IHttpResponse4_Vtbl,
    IHttpUser / IHttpUser_Vtbl, IHttpConnectionStoredContext / IHttpConnectionStoredContext_Vtbl,
    IHttpConnectionModuleContextContainer / IHttpConnectionModuleContextContainer_Vtbl,
    IHttpConnection / IHttpConnection_Vtbl, IHttpContext / IHttpContext_Vtbl, IHttpContext2 / IHttpContext2_Vtbl,
    IHttpContext3 / IHttpContext3_Vtbl, IHttpContext4 / IHttpContext4_Vtbl, IHttpTraceContext / IHttpTraceContext_Vtbl,
    IHttpCacheKey / IHttpCacheKey_Vtbl, IHttpCacheSpecificData / IHttpCacheSpecificData_Vtbl,
    IHttpSite / IHttpSite_Vtbl, IHttpFileMonitor / IHttpFileMonitor_Vtbl, IHttpFileInfo / IHttpFileInfo_Vtbl,
    IHttpTokenEntry / IHttpTokenEntry_Vtbl, IHttpServer / IHttpServer_Vtbl, IHttpServer2 / IHttpServer2_Vtbl,
    IHttpServer3 / IHttpServer3_Vtbl, IHttpEventProvider / IHttpEventProvider_Vtbl,
    IHttpCompletionInfo / IHttpCompletionInfo_Vtbl, IHttpCompletionInfo2 / IHttpCompletionInfo2_Vtbl,
    ICustomNotificationProvider / ICustomNotificationProvider_Vtbl,
    IAuthenticationProvider / IAuthenticationProvider_Vtbl, IMapHandlerProvider / IMapHandlerProvider_Vtbl,
    IMapPathProvider / IMapPathProvider_Vtbl, ISendResponseProvider / ISendResponseProvider_Vtbl,
    IReadEntityProvider / IReadEntityProvider_Vtbl, IPreBeginRequestProvider / IPreBeginRequestProvider_Vtbl,
    IWebSocketContext / IWebSocketContext_Vtbl,
    IHttpApplicationProvider / IHttpApplicationProvider_Vtbl,
    IHttpApplicationResolveModulesProvider / IHttpApplicationResolveModulesProvider_Vtbl,
    IGlobalRSCAQueryProvider / IGlobalRSCAQueryProvider_Vtbl,
    IGlobalStopListeningProvider / IGlobalStopListeningProvider_Vtbl, ICacheProvider / ICacheProvider_Vtbl,
    IGlobalConfigurationChangeProvider / IGlobalConfigurationChangeProvider_Vtbl,
    IGlobalFileChangeProvider / IGlobalFileChangeProvider_Vtbl,
    IGlobalTraceEventProvider / IGlobalTraceEventProvider_Vtbl,
    IGlobalThreadCleanupProvider / IGlobalThreadCleanupProvider_Vtbl,
    IGlobalApplicationPreloadProvider / IGlobalApplicationPreloadProvider_Vtbl,
    IGlobalApplicationPreloadProvider2 / IGlobalApplicationPreloadProvider2_Vtbl,
    IGlobalSuspendProcessCallback / IGlobalSuspendProcessCallback_Vtbl, CHttpModule / CHttpModule_Vtbl,
    CGlobalModule / CGlobalModule_Vtbl, IModuleAllocator / IModuleAllocator_Vtbl,
    IHttpModuleFactory / IHttpModuleFactory_Vtbl, IHttpModuleRegistrationInfo / IHttpModuleRegistrationInfo_Vtbl,
    IHttpModuleRegistrationInfo2 / IHttpModuleRegistrationInfo2_Vtbl,
}

#[test]
fn every_class_is_listed() {
    let classes = rust_classes();
    for class in &classes {
        assert_eq!(class.vtbl, format!("{}_Vtbl", class.name), "rust_classes! pairs {} with {}", class.name, class.vtbl);
    }
    let listed: BTreeSet<&str> = classes.iter().map(|c| c.name).collect();
    let defined: BTreeSet<&str> = header().classes.keys().map(String::as_str).collect();
    assert_eq!(
        listed,
        defined,
        "rust_classes! in tests/layout.rs: missing {:?}, extra {:?}",
        defined.difference(&listed).collect::<Vec<_>>(),
        listed.difference(&defined).collect::<Vec<_>>()
    );
    assert_eq!(listed.len(), classes.len(), "a class is listed twice");
}

/// The host's Rust sizes against clang's layout for the Windows triple of the same pointer
/// width (x86_64 on a 64-bit host).
#[test]
fn rust_sizes_match_clang() {
    let triple = match std::mem::size_of::<usize>() {
        8 => &X86_64,
        4 => &I686,
        other => panic!("{other}-byte pointers"),
    };
    let p = triple.pointer_size;
    let layout = clang_layout(triple);
    for class in rust_classes() {
        let name = class.name;
        let slots = layout.slots[name].len();
        assert_eq!((class.size, class.align), (p, p), "{name}: object is not one pointer");
        assert_eq!(class.vtbl_size, slots * p, "{name}_Vtbl: clang's {} vftable has {slots} slots", triple.target);
        assert_eq!(class.vtbl_align, p, "{name}_Vtbl");
    }
    use httpserv_sys::*;
    use std::mem::size_of;
    assert_eq!(size_of::<IHttpContext_Vtbl>(), 39 * p);
    assert_eq!(size_of::<CHttpModule_Vtbl>(), 31 * p);
    assert_eq!(size_of::<CGlobalModule_Vtbl>(), 17 * p);
    let enums = [
        size_of::<REQUEST_NOTIFICATION_STATUS>(),
        size_of::<GLOBAL_NOTIFICATION_STATUS>(),
        size_of::<CACHE_OPERATION>(),
        size_of::<HTTP_SERVER_INTERFACE_VERSION>(),
        size_of::<HTTP_CONTEXT_INTERFACE_VERSION>(),
    ];
    assert_eq!(enums, [4; 5], "{HEADER_ENUMS:?}");
}
