//! C type names of httpserv.h → Rust type text.
//!
//! Win32 and HTTP Server API types come from windows-sys (the `use` list that `emit` writes);
//! names the header itself defines (classes, its enums and typedefs) pass through unchanged.
//! An unknown name is an error, never a guess: add it here.

use crate::model::CType;

/// The `use` lines the generated file starts with; every name `rust_type` can produce that is
/// not the header's own comes from here.
pub const IMPORTS: &str = "\
use core::ffi::c_void;
use windows_sys::core::{BOOL, BSTR, GUID, HRESULT, PCSTR, PCWSTR, PWSTR};
use windows_sys::Win32::Foundation::{FILETIME, HANDLE};
use windows_sys::Win32::Networking::HttpServer::{
    HTTP_CACHE_POLICY, HTTP_DATA_CHUNK, HTTP_HEADER_ID, HTTP_LOG_DATA, HTTP_REQUEST_PROPERTY, HTTP_REQUEST_V2,
    HTTP_RESPONSE_V2, HTTP_SSL_CLIENT_CERT_INFO,
};
use windows_sys::Win32::Networking::WinSock::SOCKADDR;
use windows_sys::Win32::Security::PSID;
use windows_sys::Win32::System::Iis::{HTTP_TRACE_CONFIGURATION, HTTP_TRACE_EVENT};
use windows_sys::Win32::System::Variant::VARIANT;
use windows_sys::Win32::System::IO::{LPOVERLAPPED_COMPLETION_ROUTINE, OVERLAPPED};
";

/// COM interfaces of other headers that httpserv.h passes by pointer only (none today: the
/// ahadmin.h interfaces it uses are declared in it).
pub const FOREIGN_INTERFACES: &[&str] = &[];

/// Names provided by windows-sys under another name or as a Rust primitive.
fn mapped(name: &str) -> Option<&'static str> {
    Some(match name {
        "VOID" | "void" => "c_void",
        "BOOL" => "BOOL",
        "HRESULT" => "HRESULT",
        "PCSTR" | "LPCSTR" => "PCSTR",
        "PCWSTR" | "LPCWSTR" => "PCWSTR",
        "PWSTR" | "LPWSTR" => "PWSTR",
        "DWORD" | "ULONG" | "UINT" => "u32",
        "LONG" | "INT" => "i32",
        "USHORT" => "u16",
        "UCHAR" | "BYTE" => "u8",
        "ULONGLONG" | "ULARGE_INTEGER" | "HTTP_OPAQUE_ID" => "u64",
        "PBYTE" => "*mut u8",
        "PVOID" => "*mut c_void",
        "PULONG" => "*mut u32",
        "HANDLE" => "HANDLE",
        "PSID" => "PSID",
        "FILETIME" => "FILETIME",
        "GUID" => "GUID",
        // REFIID is `const IID&` (a reference, passed as a pointer).
        "IID" => "GUID",
        "BSTR" => "BSTR",
        "VARIANT" => "VARIANT",
        "LPCGUID" => "*const GUID",
        "PSOCKADDR" => "*mut SOCKADDR",
        "LPOVERLAPPED" => "*mut OVERLAPPED",
        "LPOVERLAPPED_COMPLETION_ROUTINE" => "LPOVERLAPPED_COMPLETION_ROUTINE",
        // http.h picks the V2 structures for every Windows that runs IIS 7 or later.
        "HTTP_REQUEST" => "HTTP_REQUEST_V2",
        "HTTP_RESPONSE" => "HTTP_RESPONSE_V2",
        "HTTP_HEADER_ID" => "HTTP_HEADER_ID",
        "HTTP_DATA_CHUNK" => "HTTP_DATA_CHUNK",
        "HTTP_CACHE_POLICY" => "HTTP_CACHE_POLICY",
        "HTTP_LOG_DATA" => "HTTP_LOG_DATA",
        "HTTP_SSL_CLIENT_CERT_INFO" => "HTTP_SSL_CLIENT_CERT_INFO",
        "HTTP_REQUEST_PROPERTY" => "HTTP_REQUEST_PROPERTY",
        "HTTP_TRACE_EVENT" => "HTTP_TRACE_EVENT",
        "HTTP_TRACE_CONFIGURATION" => "HTTP_TRACE_CONFIGURATION",
        _ => return None,
    })
}

/// True for names that windows-sys provides, which the generated file must not redeclare.
pub fn is_external(name: &str) -> bool {
    mapped(name).is_some()
}

/// The Rust spelling of a C type. `own` holds the names the header defines.
pub fn rust_type(ty: &CType, own: &dyn Fn(&str) -> bool) -> Result<String, String> {
    match ty {
        CType::Void => Ok("()".into()),
        CType::Bool => Ok("bool".into()),
        CType::Named(name) => named(name, own),
        CType::Pointer { pointee, is_const } => {
            let inner = match pointee.as_ref() {
                CType::Void => "c_void".to_string(),
                other => rust_type(other, own)?,
            };
            Ok(format!("{} {inner}", if *is_const { "*const" } else { "*mut" }))
        }
    }
}

fn named(name: &str, own: &dyn Fn(&str) -> bool) -> Result<String, String> {
    if let Some(rust) = mapped(name) {
        return Ok(rust.to_string());
    }
    if own(name) || FOREIGN_INTERFACES.contains(&name) {
        return Ok(name.to_string());
    }
    Err(format!("no Rust mapping for the C type `{name}`: add it to httpserv-bindgen/src/types.rs"))
}
