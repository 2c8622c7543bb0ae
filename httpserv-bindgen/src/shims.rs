//! Writes the C++ of the DLL front door (`simulator/shims/shims.generated.cpp`): for every class
//! of httpserv.h, C++ classes deriving from it whose virtual methods forward to another object of
//! the same interface through a C++ virtual call. Compiled by clang with the MSVC ABI, they make
//! every call between a module DLL and the Rust simulation core a C++ call.
//!
//! - `Shim_X` wraps a core object (`inner_`) for the module: arguments the module passes in are
//!   converted `to_core`, results and out parameters `to_module`.
//! - `Proxy_X` wraps a module object (`inner_`) for the core, with the directions swapped.
//!
//! `to_module(X*)` unwraps a proxy (the core handing back the module's own object, e.g.
//! `GetModuleContext`) or finds/creates the shim of a core object; `to_core(X*)` unwraps a shim or
//! finds/creates the proxy of a module object. Shims and proxies are found again by (inner
//! pointer, type) in the registry of `shim_runtime.cpp`. No IIS semantics here: only forwarding,
//! wrapping and lifetimes. The special cases (`void*`, callbacks, in-out pointers, calls that end
//! an object) are the tables below, each entry with its reason.

use std::fmt::Write;

use crate::model::{CType, Class, Header, Method, Param};

/// How a parameter (or the result, `param: "return"`) that the generic rules cannot type crosses.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Memory or a value without a vtable: passed as is.
    Data,
    /// A `void**` out parameter that receives an object of this class.
    Object(&'static str),
    /// A `void**` out parameter that receives an object of the class whose uuid the named
    /// `const GUID&` parameter gives.
    ObjectOfIid(&'static str),
    /// A `void*` that is an object of the other side of unknown type: unwrapped if it is one of
    /// ours, else passed as is (the callee then rejects it).
    AnyObject,
    /// A `T**` the caller fills before the call and the callee may replace (not a pure out).
    InOut,
    /// A callback (a `PFN_*` with interface parameters) whose context is the named parameter:
    /// replaced by a C++ trampoline and a record (callback, context) that the trampoline frees
    /// when called, or the shim frees when the call fails (a failed call completes nothing).
    Callback { context: &'static str },
    /// The context of a `Callback`, converted with it.
    CallbackContext,
}

/// One special case: `class::method`'s `param`.
struct Special {
    class: &'static str,
    method: &'static str,
    param: &'static str,
    rule: Rule,
}

/// Every `void*`, `void**` and function-pointer parameter of the header, and the in-out `T**`.
/// The generator fails on one that is missing, so a new header's cases are decided here.
const SPECIAL: &[Special] = &[
    // Body bytes the module reads into / inserts: its buffers.
    Special { class: "IHttpRequest", method: "ReadEntityBody", param: "pvBuffer", rule: Rule::Data },
    Special { class: "IHttpRequest", method: "InsertEntityBody", param: "pvBuffer", rule: Rule::Data },
    Special { class: "IHttpRequest3", method: "ReadEntityBody", param: "pvBuffer", rule: Rule::Data },
    Special { class: "IHttpRequest4", method: "ReadEntityBody", param: "pvBuffer", rule: Rule::Data },
    // IIS 8 asynchronous reads and writes: the completion is called with IHttpContext3* and
    // IHttpCompletionInfo2*, which must reach the module as shims.
    Special { class: "IHttpRequest3", method: "ReadEntityBody", param: "pfnCompletionCallback", rule: Rule::Callback { context: "pvCompletionContext" } },
    Special { class: "IHttpRequest3", method: "ReadEntityBody", param: "pvCompletionContext", rule: Rule::CallbackContext },
    Special { class: "IHttpResponse2", method: "WriteEntityChunks", param: "pfnCompletionCallback", rule: Rule::Callback { context: "pvCompletionContext" } },
    Special { class: "IHttpResponse2", method: "WriteEntityChunks", param: "pvCompletionContext", rule: Rule::CallbackContext },
    Special { class: "IHttpResponse2", method: "Flush", param: "pfnCompletionCallback", rule: Rule::Callback { context: "pvCompletionContext" } },
    Special { class: "IHttpResponse2", method: "Flush", param: "pvCompletionContext", rule: Rule::CallbackContext },
    // WebSocket fragments: the module's buffers; the completion (iiswebsocket.h) passes no
    // interface (HRESULT, the module's context, sizes, flags), so it is called as is.
    Special { class: "IWebSocketContext", method: "WriteFragment", param: "pData", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "WriteFragment", param: "pfnCompletion", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "WriteFragment", param: "pvCompletionContext", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "ReadFragment", param: "pData", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "ReadFragment", param: "pfnCompletion", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "ReadFragment", param: "pvCompletionContext", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "SendConnectionClose", param: "pfnCompletion", rule: Rule::Data },
    Special { class: "IWebSocketContext", method: "SendConnectionClose", param: "pvCompletionContext", rule: Rule::Data },
    // Memory handed out by the server side: plain bytes.
    Special { class: "IHttpConnection", method: "AllocateMemory", param: "return", rule: Rule::Data },
    Special { class: "IHttpContext", method: "AllocateRequestMemory", param: "return", rule: Rule::Data },
    Special { class: "IModuleAllocator", method: "AllocateMemory", param: "return", rule: Rule::Data },
    // SID / SSPI handles by name (HTTP_USER_VARIABLE_*): Win32 data, no vtable of this header.
    Special { class: "IHttpUser", method: "GetUserVariable", param: "return", rule: Rule::Data },
    // The deprecated context extension has no versions (HTTP_CONTEXT_INTERFACE_VERSION is empty);
    // what it would return is the context itself.
    Special { class: "IHttpContext", method: "GetExtendedInterface", param: "ppInterface", rule: Rule::Object("IHttpContext") },
    // A plain Win32 completion routine (DWORD, DWORD, LPOVERLAPPED): no interface crosses, so it
    // is called as is; its context is the module's.
    Special { class: "IHttpContext3", method: "PostCompletion", param: "pfnCompletionRoutine", rule: Rule::Data },
    Special { class: "IHttpContext3", method: "PostCompletion", param: "pvCompletionContext", rule: Rule::Data },
    Special { class: "IHttpServer", method: "AssociateWithThreadPool", param: "completionRoutine", rule: Rule::Data },
    // A protocol manager's own interface (not of this header): nothing to wrap it with.
    Special { class: "IHttpServer", method: "GetProtocolManagerCustomInterface", param: "ppCustomInterface", rule: Rule::Data },
    // HTTP_SERVER_INTERFACE_V2/V3 give the server as IHttpServer2/3: the server's shim.
    Special { class: "IHttpServer", method: "GetExtendedInterface", param: "ppInterface", rule: Rule::Object("IHttpServer") },
    // Maps (object, uuid Version1) to (object, uuid Version2): the input is the module's view
    // of a core object (a shim), the output a core object of the class of Version2.
    Special { class: "IHttpServer2", method: "GetExtendedInterface", param: "pInput", rule: Rule::AnyObject },
    Special { class: "IHttpServer2", method: "GetExtendedInterface", param: "ppOutput", rule: Rule::ObjectOfIid("Version2") },
    // ADD passes the module's cache entry in, RETRIEVE returns one: in and out.
    Special { class: "IHttpServer", method: "DoCacheOperation", param: "ppCacheSpecificData", rule: Rule::InOut },
    // HTTP Server API property buffers.
    Special { class: "IHttpServer3", method: "QueryRequestProperty", param: "pQualifier", rule: Rule::Data },
    Special { class: "IHttpServer3", method: "QueryRequestProperty", param: "pOutput", rule: Rule::Data },
    // COM: the object of the interface `riid` names.
    Special { class: "IUnknown", method: "QueryInterface", param: "ppvObject", rule: Rule::ObjectOfIid("riid") },
    // The entity body buffer of RQ_READ_ENTITY.
    Special { class: "IReadEntityProvider", method: "GetEntity", param: "ppBuffer", rule: Rule::Data },
    Special { class: "IReadEntityProvider", method: "SetEntity", param: "pBuffer", rule: Rule::Data },
];

/// Results whose class the declared type does not tell: (class, method, name parameter, name,
/// class). IIS's WebSocket module stores its `IWebSocketContext` as an `IHttpStoredContext`
/// under `"websockets"` (iiswebsocket.h's `IIS_WEBSOCKET`), and modules cast it back: the module
/// must get a forwarder with the whole `IWebSocketContext` vtable. A module's own context stored
/// under that name (a proxy) is unwrapped as usual.
const NAMED_RESULTS: &[(&str, &str, &str, &str, &str)] = &[("INamedContextContainer", "GetNamedContext", "szName", "websockets", "IWebSocketContext")];

/// For each callback type: the parameter that carries the caller's context back.
const CALLBACK_CONTEXTS: &[(&str, &str)] = &[("PFN_ASYNC_COMPLETION", "pvCompletionContext"), ("PFN_WEBSOCKET_COMPLETION", "pvCompletionContext")];

/// Function-pointer types from other headers that httpserv.h passes (besides its own typedefs).
const FOREIGN_CALLBACKS: &[&str] = &["LPOVERLAPPED_COMPLETION_ROUTINE"];

/// Calls after which the callee's object is gone: the shim or proxy frees itself after
/// forwarding. (Reference counts such as `DereferenceUser` are not here: whether the count
/// reached zero is the object's business, so those shims stay for reuse.)
const ENDING: &[(&str, &str)] = &[
    ("CHttpModule", "Dispose"),
    ("IHttpModuleFactory", "Terminate"),
    ("CGlobalModule", "Terminate"),
    ("IHttpStoredContext", "CleanupStoredContext"),
    ("IDispensedHttpModuleContextContainer", "ReleaseContainer"),
];

/// The C++ of the shims for `header`.
pub fn emit(header: &Header) -> Result<String, String> {
    let mut g = Gen { header, proxied: Vec::new() };
    g.proxied = g.proxied_classes()?;
    let mut out = String::new();
    out.push_str(
        "// Generated by httpserv-bindgen from httpserv.h. Do not edit: run `cargo run -p httpserv-bindgen`.\n\
         // The C++ front door between a module DLL and the Rust simulation core: Shim_X wraps a core\n\
         // object for the module, Proxy_X a module object for the core (httpserv-bindgen/src/shims.rs).\n\
         #include \"httpserv.h\"\n#include \"shim_runtime.h\"\n\n\
         #pragma clang diagnostic ignored \"-Wunused-function\"\n\
         #pragma clang diagnostic ignored \"-Wunused-parameter\"\n\
         #pragma clang diagnostic ignored \"-Woverloaded-virtual\"\n\n\
         namespace {\n\n",
    );
    // Type ids: a shim is keyed by its family's first class, a proxy by its own class.
    writeln!(out, "enum ShimType {{").unwrap();
    for (index, class) in header.classes.iter().enumerate() {
        writeln!(out, "    TYPE_{} = {},", class.name, index + 1).unwrap();
    }
    writeln!(out, "}};\n").unwrap();
    writeln!(out, "// Classes whose objects a module can hand to the core (found by following every parameter and\n// result from RegisterModule's): {}.\n", g.proxied.join(", ")).unwrap();
    for class in &header.classes {
        writeln!(out, "{0}* to_module({0}* p);", class.name).unwrap();
        if g.is_proxied(&class.name) {
            writeln!(out, "{0}* to_core({0}* p);", class.name).unwrap();
        }
    }
    out.push_str("void* to_module_iid(const GUID& iid, void* p);\nvoid* to_core_iid(const GUID& iid, void* p);\n\n");
    out.push_str(
        "// A void* that may be one of our forwarders: its inner object, else itself.\n\
         void* to_core_any(void* p)\n{\n    void* inner;\n    return p && shim_inner_of(p, SHIM_KIND_SHIM, &inner) ? inner : p;\n}\n\n\
         void* to_module_any(void* p)\n{\n    void* inner;\n    return p && shim_inner_of(p, SHIM_KIND_PROXY, &inner) ? inner : p;\n}\n\n",
    );
    for typedef in &header.fn_typedefs {
        if typedef.name == "PFN_REGISTERMODULE" {
            continue; // called once, by httpserv_shim_register_module below
        }
        g.trampoline(&mut out, typedef)?;
    }
    for class in &header.classes {
        if g.leaf(&class.name) == class.name {
            g.forwarder(&mut out, class, Side::Shim)?;
        }
        if g.is_proxied(&class.name) {
            g.forwarder(&mut out, class, Side::Proxy)?;
        }
    }
    for class in &header.classes {
        g.conversions(&mut out, class);
    }
    for (side, name) in [(Side::Shim, "to_module_iid"), (Side::Proxy, "to_core_iid")] {
        let convert = side.outward();
        writeln!(out, "void* {name}(const GUID& iid, void* p)\n{{").unwrap();
        for class in header.classes.iter().filter(|c| c.uuid.is_some() && (side == Side::Shim || g.is_proxied(&c.name))) {
            let uuid = class.uuid.as_deref().expect("filtered on uuid");
            writeln!(out, "    if (IsEqualGUID(iid, {})) {{\n        return static_cast<{1}*>({convert}(static_cast<{1}*>(p)));\n    }}", guid_literal(uuid), class.name).unwrap();
        }
        writeln!(out, "    return p; // not a class of httpserv.h: nothing to wrap it with\n}}\n").unwrap();
    }
    out.push_str("} // namespace\n\n");
    out.push_str(
        "// The one entry point: calls the DLL's RegisterModule from a C++ call site with the core's\n\
         // registration info and server wrapped in shims.\n\
         extern \"C\" HRESULT httpserv_shim_register_module(PFN_REGISTERMODULE dll_register, DWORD version, IHttpModuleRegistrationInfo* core_info, IHttpServer* core_server)\n\
         {\n    return dll_register(version, to_module(core_info), to_module(core_server));\n}\n",
    );
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// Wraps a core object for the module.
    Shim,
    /// Wraps a module object for the core.
    Proxy,
}

impl Side {
    fn prefix(self) -> &'static str {
        match self {
            Side::Shim => "Shim",
            Side::Proxy => "Proxy",
        }
    }
    /// Converts what the wrapper's caller passes in, for the inner object.
    fn inward(self) -> &'static str {
        match self {
            Side::Shim => "to_core",
            Side::Proxy => "to_module",
        }
    }
    /// Converts what the inner object gives back, for the wrapper's caller.
    fn outward(self) -> &'static str {
        match self {
            Side::Shim => "to_module",
            Side::Proxy => "to_core",
        }
    }
}

/// How one parameter crosses.
enum Conv {
    Pass,
    /// `T*` (the class).
    In(String),
    /// `T**` out.
    Out(String),
    /// `T**` in and out.
    InOut(String),
    /// `void**` out holding a `T*`.
    OutObject(String),
    /// `void**` out holding an object of the class of a uuid parameter.
    OutObjectOfIid(String),
    AnyIn,
    Callback { typedef: String, context: String },
    CallbackContext,
}

struct Gen<'a> {
    header: &'a Header,
    /// The classes that get a proxy: those whose objects can travel from a module to the core.
    proxied: Vec<String>,
}

impl Gen<'_> {
    fn is_proxied(&self, name: &str) -> bool {
        self.proxied.iter().any(|n| n == name)
    }

    /// Every core object is shimmed (the module may receive any); a class is proxied when a
    /// shim's input or a proxy's output has its type, to a fixed point.
    fn proxied_classes(&self) -> Result<Vec<String>, String> {
        let mut proxied: Vec<String> = Vec::new();
        let add = |set: &mut Vec<String>, name: &str| -> bool {
            let name = self.class(name).map(|c| c.name.clone()).unwrap_or_else(|| name.to_string());
            if set.contains(&name) {
                false
            } else {
                set.push(name);
                true
            }
        };
        loop {
            let mut changed = false;
            for class in &self.header.classes {
                let shimmed = self.leaf(&class.name) == class.name;
                let is_proxy = proxied.contains(&class.name);
                for (declaring, method) in self.methods(class) {
                    for param in &method.params {
                        match self.conv(declaring, &method.name, param)? {
                            Conv::In(t) if shimmed => changed |= add(&mut proxied, &t),
                            Conv::InOut(t) if shimmed || is_proxy => changed |= add(&mut proxied, &t),
                            Conv::Out(t) | Conv::OutObject(t) if is_proxy => changed |= add(&mut proxied, &t),
                            _ => {}
                        }
                    }
                    if let (true, CType::Pointer { pointee, .. }) = (is_proxy, &method.ret) {
                        if let CType::Named(n) = pointee.as_ref() {
                            if self.class(n).is_some() {
                                changed |= add(&mut proxied, n);
                            }
                        }
                    }
                }
            }
            if !changed {
                return Ok(proxied);
            }
        }
    }

    fn class(&self, name: &str) -> Option<&Class> {
        let name = self.header.aliases.iter().find(|(a, _)| a == name).map(|(_, t)| t.as_str()).unwrap_or(name);
        self.header.classes.iter().find(|c| c.name == name)
    }

    /// Numbered extensions (`IHttpContext` → `IHttpContext2` … `IHttpContext4`): the core, like
    /// IIS 10, implements the newest of each, so a core object declared as any member of the
    /// family is wrapped as the last one (a module may `static_cast` to an extension, as IIS
    /// allows). Keyed by the family's first class, so one object has one shim.
    fn leaf(&self, name: &str) -> String {
        let mut current = name.to_string();
        loop {
            let stem = current.trim_end_matches(|c: char| c.is_ascii_digit());
            let next = self.header.classes.iter().find(|c| {
                c.base.as_deref() == Some(current.as_str())
                    && c.name.strip_prefix(stem).is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
            });
            match next {
                Some(next) => current = next.name.clone(),
                None => return current,
            }
        }
    }

    fn family_root(&self, name: &str) -> String {
        let mut current = self.class(name).expect("class").clone();
        while let Some(base) = current.base.clone() {
            if self.leaf(&base) != self.leaf(&current.name) {
                break;
            }
            current = self.class(&base).expect("base").clone();
        }
        current.name
    }

    /// The methods of `class` and its bases, base first, with the class declaring each.
    fn methods<'c>(&'c self, class: &'c Class) -> Vec<(&'c str, &'c Method)> {
        let mut chain = vec![class];
        while let Some(base) = chain.last().unwrap().base.as_deref() {
            chain.push(self.class(base).expect("base class"));
        }
        chain.iter().rev().flat_map(|c| c.methods.iter().filter(|m| !m.is_destructor).map(move |m| (c.name.as_str(), m))).collect()
    }

    fn special(&self, class: &str, method: &str, param: &str) -> Option<Rule> {
        SPECIAL.iter().find(|s| s.class == class && s.method == method && s.param == param).map(|s| s.rule)
    }

    fn is_callback_type(&self, ty: &CType) -> bool {
        matches!(ty, CType::Named(n) if self.header.fn_typedefs.iter().any(|t| &t.name == n) || FOREIGN_CALLBACKS.contains(&n.as_str()))
    }

    fn conv(&self, class: &str, method: &str, param: &Param) -> Result<Conv, String> {
        let here = format!("{class}::{method}({})", param.name);
        let special = self.special(class, method, &param.name);
        let needs_rule = is_void_pointer(&param.ty) || self.is_callback_type(&param.ty);
        match (special, &param.ty) {
            (None, _) if needs_rule => Err(format!("{here}: a void* or callback parameter with no rule: add it to SPECIAL in httpserv-bindgen/src/shims.rs")),
            (Some(Rule::Data), _) => Ok(Conv::Pass),
            (Some(Rule::Object(target)), _) => Ok(Conv::OutObject(target.to_string())),
            (Some(Rule::ObjectOfIid(iid)), _) => Ok(Conv::OutObjectOfIid(iid.to_string())),
            (Some(Rule::AnyObject), _) => Ok(Conv::AnyIn),
            (Some(Rule::CallbackContext), _) => Ok(Conv::CallbackContext),
            (Some(Rule::Callback { context }), CType::Named(typedef)) => Ok(Conv::Callback { typedef: typedef.clone(), context: context.to_string() }),
            (Some(Rule::InOut), CType::Pointer { pointee, .. }) => match pointee.as_ref() {
                CType::Pointer { pointee, .. } => match pointee.as_ref() {
                    CType::Named(n) if self.class(n).is_some() => Ok(Conv::InOut(n.clone())),
                    _ => Err(format!("{here}: InOut needs a T** of a class")),
                },
                _ => Err(format!("{here}: InOut needs a T** of a class")),
            },
            (Some(rule), _) => Err(format!("{here}: rule {rule:?} does not fit the type")),
            (None, CType::Pointer { pointee, .. }) if !param.by_reference => match pointee.as_ref() {
                CType::Named(n) if self.class(n).is_some() => Ok(Conv::In(n.clone())),
                CType::Pointer { pointee, .. } => match pointee.as_ref() {
                    CType::Named(n) if self.class(n).is_some() => Ok(Conv::Out(n.clone())),
                    _ => Ok(Conv::Pass),
                },
                _ => Ok(Conv::Pass),
            },
            // Values, data pointers, references (GUIDs), and classes only declared by the header
            // (IWpfSettings) or other headers (IAppHostConfigException): no vtable to forward.
            (None, _) => Ok(Conv::Pass),
        }
    }

    fn forwarder(&self, out: &mut String, class: &Class, side: Side) -> Result<(), String> {
        let name = &class.name;
        let kind = format!("{}_{name}", side.prefix());
        writeln!(out, "class {kind} final : public {name} {{\npublic:\n    explicit {kind}({name}* inner) : inner_(inner) {{}}\n    {name}* const inner_;\n").unwrap();
        for (declaring, method) in self.methods(class) {
            self.method(out, declaring, method, side)?;
        }
        writeln!(out, "}};\n").unwrap();
        writeln!(out, "void* create_{kind}(void* inner)\n{{\n    return static_cast<{name}*>(new {kind}(static_cast<{name}*>(inner)));\n}}\n").unwrap();
        Ok(())
    }

    fn method(&self, out: &mut String, declaring: &str, method: &Method, side: Side) -> Result<(), String> {
        let (inward, outward) = (side.inward(), side.outward());
        let params: Vec<String> = method.params.iter().map(|p| format!("{} {}", param_type(p), p.name)).collect();
        let ret = c_type(&method.ret);
        let returns = !matches!(&method.ret, CType::Void) && ret != "VOID";
        // COM methods keep their convention (__stdcall on x86) in the override.
        let convention = if self.class(declaring).is_some_and(|c| c.is_com) { "STDMETHODCALLTYPE " } else { "" };
        writeln!(out, "    {ret} {convention}{}({}){} override\n    {{", method.name, params.join(", "), if method.is_const { " const" } else { "" }).unwrap();
        let mut args = Vec::new();
        let mut post = Vec::new();
        for param in &method.params {
            let n = &param.name;
            match self.conv(declaring, &method.name, param)? {
                Conv::Pass => args.push(n.clone()),
                Conv::In(_) => args.push(format!("{inward}({n})")),
                Conv::Out(class) => {
                    writeln!(out, "        {class}* const shim_before_{n} = {n} ? *{n} : nullptr;").unwrap();
                    args.push(n.clone());
                    post.push(format!("if ({n} && *{n} != shim_before_{n}) {{\n            *{n} = {outward}(*{n});\n        }}"));
                }
                Conv::InOut(class) => {
                    writeln!(out, "        {class}* const shim_orig_{n} = {n} ? *{n} : nullptr;").unwrap();
                    writeln!(out, "        if ({n}) {{\n            *{n} = {inward}(*{n});\n        }}").unwrap();
                    writeln!(out, "        {class}* const shim_sent_{n} = {n} ? *{n} : nullptr;").unwrap();
                    args.push(n.clone());
                    post.push(format!("if ({n}) {{\n            *{n} = *{n} == shim_sent_{n} ? shim_orig_{n} : {outward}(*{n});\n        }}"));
                }
                Conv::OutObject(class) => {
                    writeln!(out, "        void* const shim_before_{n} = {n} ? *{n} : nullptr;").unwrap();
                    args.push(n.clone());
                    post.push(format!("if ({n} && *{n} != shim_before_{n}) {{\n            *{n} = static_cast<{class}*>({outward}(static_cast<{class}*>(*{n})));\n        }}"));
                }
                Conv::OutObjectOfIid(iid) => {
                    writeln!(out, "        void* const shim_before_{n} = {n} ? *{n} : nullptr;").unwrap();
                    args.push(n.clone());
                    post.push(format!("if ({n} && *{n} != shim_before_{n}) {{\n            *{n} = {outward}_iid({iid}, *{n});\n        }}"));
                }
                Conv::AnyIn => args.push(format!("{inward}_any({n})")),
                Conv::Callback { typedef, context } => {
                    if side == Side::Proxy {
                        return Err(format!("{declaring}::{}: a callback from the core to a module object is not supported", method.name));
                    }
                    writeln!(out, "        ShimCallback* const shim_cb_{n} = {n} ? shim_callback_new(reinterpret_cast<void*>({n}), {context}) : nullptr;").unwrap();
                    args.push(format!("shim_cb_{n} ? &trampoline_{typedef} : static_cast<{typedef}>(nullptr)"));
                    if ret == "HRESULT" {
                        post.push(format!("if (shim_cb_{n} && FAILED(shim_result)) {{\n            shim_callback_free(shim_cb_{n});\n        }}"));
                    }
                }
                Conv::CallbackContext => {
                    let callback = method
                        .params
                        .iter()
                        .find(|p| matches!(self.special(declaring, &method.name, &p.name), Some(Rule::Callback { context }) if context == n))
                        .ok_or_else(|| format!("{declaring}::{}({n}): a callback context without its callback", method.name))?;
                    args.push(format!("shim_cb_{0} ? static_cast<void*>(shim_cb_{0}) : {n}", callback.name));
                }
            }
        }
        // A const method forwards through a const pointer: with a non-const one, C++ overload
        // resolution would pick a non-const overload of the same name (IHttpResponse's two
        // GetRawHttpResponse), calling the other slot.
        let constness = if method.is_const { "const " } else { "" };
        let call = format!("static_cast<{constness}{declaring}*>(inner_)->{}({})", method.name, args.join(", "));
        if returns {
            writeln!(out, "        {ret} const shim_result = {call};").unwrap();
        } else {
            writeln!(out, "        {call};").unwrap();
        }
        for p in post {
            writeln!(out, "        {p}").unwrap();
        }
        if (declaring, method.name.as_str()) == ("IUnknown", "Release") {
            writeln!(out, "        // The last reference is gone: so is the object, and its wrapper.\n        if (shim_result == 0) {{\n            shim_forget(this);\n            delete this;\n        }}").unwrap();
        }
        if ENDING.contains(&(declaring, method.name.as_str())) {
            writeln!(out, "        // {declaring}::{} ends the object: so does its wrapper.\n        shim_forget(this);\n        delete this;", method.name).unwrap();
        }
        if let (Side::Shim, Some((_, _, param, name, class))) = (side, NAMED_RESULTS.iter().find(|(c, m, ..)| *c == declaring && *m == method.name)) {
            writeln!(
                out,
                "        void* shim_named_inner;\n        \
                 if (shim_result && {param} && lstrcmpW({param}, L\"{name}\") == 0 && !shim_inner_of(shim_result, SHIM_KIND_PROXY, &shim_named_inner)) {{\n            \
                 return to_module(static_cast<{class}*>(shim_result));\n        }}"
            )
            .unwrap();
        }
        if returns {
            let result = match &method.ret {
                CType::Pointer { pointee, .. } if matches!(pointee.as_ref(), CType::Named(n) if self.class(n).is_some()) => format!("{outward}(shim_result)"),
                ty if is_void_pointer(ty) => match self.special(declaring, &method.name, "return") {
                    Some(Rule::Data) => "shim_result".to_string(),
                    _ => return Err(format!("{declaring}::{}: a void* result with no rule: add it to SPECIAL", method.name)),
                },
                _ => "shim_result".to_string(),
            };
            writeln!(out, "        return {result};").unwrap();
        }
        writeln!(out, "    }}\n").unwrap();
        Ok(())
    }

    fn trampoline(&self, out: &mut String, typedef: &crate::model::FnTypedef) -> Result<(), String> {
        let context = CALLBACK_CONTEXTS
            .iter()
            .find(|(t, _)| *t == typedef.name)
            .map(|(_, c)| *c)
            .ok_or_else(|| format!("{}: a callback type with no context in CALLBACK_CONTEXTS", typedef.name))?;
        let params: Vec<String> = typedef.params.iter().map(|p| format!("{} {}", param_type(p), p.name)).collect();
        let mut args = Vec::new();
        for p in &typedef.params {
            args.push(match &p.ty {
                _ if p.name == context => "shim_context".to_string(),
                CType::Pointer { pointee, .. } if matches!(pointee.as_ref(), CType::Named(n) if self.class(n).is_some()) => format!("to_module({})", p.name),
                _ => p.name.clone(),
            });
        }
        writeln!(
            out,
            "// Called by the core in place of the module's {name}: the record holds the module's callback\n\
             // and context, and is used once.\n\
             {ret} WINAPI trampoline_{name}({params})\n{{\n    \
             ShimCallback* const record = static_cast<ShimCallback*>({context});\n    \
             {name} const shim_callback = reinterpret_cast<{name}>(record->callback);\n    \
             void* const shim_context = record->context;\n    \
             shim_callback_free(record);\n    \
             return shim_callback({args});\n}}\n",
            name = typedef.name,
            ret = c_type(&typedef.ret),
            params = params.join(", "),
            args = args.join(", "),
        )
        .unwrap();
        Ok(())
    }

    fn conversions(&self, out: &mut String, class: &Class) {
        let name = &class.name;
        let leaf = self.leaf(name);
        let root = self.family_root(name);
        writeln!(
            out,
            "{name}* to_module({name}* p)\n{{\n    void* inner;\n    if (!p) {{\n        return p;\n    }}\n    \
             if (shim_inner_of(p, SHIM_KIND_PROXY, &inner)) {{\n        return static_cast<{name}*>(inner);\n    }}\n    \
             return static_cast<{leaf}*>(shim_get(static_cast<{leaf}*>(p), TYPE_{root}, SHIM_KIND_SHIM, &create_Shim_{leaf}));\n}}\n"
        )
        .unwrap();
        if self.is_proxied(name) {
            writeln!(
                out,
                "{name}* to_core({name}* p)\n{{\n    void* inner;\n    if (!p) {{\n        return p;\n    }}\n    \
                 if (shim_inner_of(p, SHIM_KIND_SHIM, &inner)) {{\n        return static_cast<{name}*>(inner);\n    }}\n    \
                 return static_cast<{name}*>(shim_get(p, TYPE_{name}, SHIM_KIND_PROXY, &create_Proxy_{name}));\n}}\n"
            )
            .unwrap();
        }
    }
}

/// A GUID initializer for `uuid` ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"), where `__uuidof` may
/// not work (mingw's IUnknown carries its uuid in another form).
fn guid_literal(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let bytes: Vec<String> = (0..8).map(|i| format!("0x{}", &hex[16 + 2 * i..18 + 2 * i])).collect();
    format!("GUID{{0x{}, 0x{}, 0x{}, {{{}}}}}", &hex[0..8], &hex[8..12], &hex[12..16], bytes.join(", "))
}

fn is_void_pointer(ty: &CType) -> bool {
    match ty {
        CType::Named(n) => n == "PVOID" || n == "LPVOID",
        CType::Pointer { pointee, .. } => matches!(pointee.as_ref(), CType::Void) || matches!(pointee.as_ref(), CType::Named(n) if n == "VOID" || n == "void") || is_void_pointer(pointee),
        _ => false,
    }
}

fn param_type(param: &Param) -> String {
    match (&param.ty, param.by_reference) {
        (CType::Pointer { pointee, is_const }, true) => format!("{}{}&", if *is_const { "const " } else { "" }, c_type(pointee)),
        (ty, _) => c_type(ty),
    }
}

fn c_type(ty: &CType) -> String {
    match ty {
        CType::Void => "void".into(),
        CType::Bool => "bool".into(),
        CType::Named(n) => n.clone(),
        CType::Pointer { pointee, is_const } => format!("{}{}*", if *is_const { "const " } else { "" }, c_type(pointee)),
    }
}
