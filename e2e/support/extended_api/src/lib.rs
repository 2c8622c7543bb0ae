//! A test module (not an example) for `tests/e2e_extended_api.rs`: each `?mode=` calls one area
//! of the methods wrapped for issue 12 and writes what it saw into the body, so the same request
//! through the in-process door and through the DLL door (every call crossing the generated
//! MSVC-ABI shims) must give the same body and transcript.
//!
//! Modes: `user` (SetUser with a Rust user, roles, tokens, original user, server variables),
//! `headers` (known request headers by id), `response` (static and multi-chunk writes, fragment
//! cache, raw response view, hrErrorToReport, error description), `trace` (configuration and a
//! safe event), `server` (app pool config file, QueryRequestProperty, script translated,
//! metadata, connection and metadata stored contexts), `log` (SetLogData at High priority).

use std::fmt::Write as _;

use httpserv::prelude::*;
use httpserv::{AuthenticatedUser, Chunk, LogDataChange, RawChunk, Status, TraceEvent, TraceItem, TraceValue, HRESULT};
use windows_sys::Win32::Networking::HttpServer::{HttpHeaderAcceptLanguage, HttpRequestPropertySni, HTTP_REQUEST_PROPERTY_SNI};

#[http_module(name = "ExtendedApi", priority(on_send_response = High))]
#[derive(Default)]
pub struct ExtendedApi;

/// The provider of the trace events this module raises.
pub const PROVIDER: windows_sys::core::GUID = windows_sys::core::GUID::from_u128(0x3a2a4e84_4c21_4981_ae10_3fda0d9b0f83);

/// The static chunk `mode=response` writes by reference.
pub static BANNER: &[u8] = b"<!-- banner -->";

fn mode(context: &HttpContext<'_>) -> String {
    context.server_variable("QUERY_STRING").ok().flatten().map(|q| String::from_utf8_lossy(q).into_owned()).unwrap_or_default().trim_start_matches("mode=").to_owned()
}

#[http_module]
impl HttpModule for ExtendedApi {
    fn on_authenticate_request(&mut self, context: &HttpContext<'_>, provider: &AuthenticationProvider<'_>) -> NotificationStatus {
        if let Some(name) = context.request().header("X-User").map(|v| String::from_utf8_lossy(v).into_owned()) {
            match AuthenticatedUser::new(&name, "Basic") {
                Ok(user) => provider.set_user(user.with_roles(["Editors"])),
                Err(error) => provider.set_error_status(error.code()),
            }
        }
        NotificationStatus::Continue
    }

    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, provider: &EventProvider<'_>) -> NotificationStatus {
        let mut out = String::new();
        let result = match mode(context).as_str() {
            "user" => user(context, &mut out),
            "headers" => headers(context, &mut out),
            "response" => response(context, &mut out),
            "trace" => trace(context, &mut out),
            "server" => server(context, &mut out),
            _ => Ok(()),
        };
        if let Err(error) = result.and_then(|()| context.response().write(out.as_bytes())) {
            provider.set_error_status(error.code());
        }
        NotificationStatus::FinishRequest
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, provider: &SendResponseProvider<'_>) -> NotificationStatus {
        if mode(context) == "log" && provider.ready_to_log() {
            let change = LogDataChange { user_name: Some("logged-by-module"), uri_stem: Some("/hidden"), ..Default::default() };
            if let Err(error) = provider.set_log_data(context, &change) {
                provider.set_error_status(error.code());
            }
        }
        NotificationStatus::Continue
    }
}

fn var(context: &HttpContext<'_>, name: &str) -> httpserv::Result<String> {
    Ok(context.server_variable(name)?.map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default())
}

fn user(context: &HttpContext<'_>, out: &mut String) -> httpserv::Result<()> {
    let server = context.server().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let _ = writeln!(out, "AUTH_USER={} REMOTE_USER={} AUTH_TYPE={}", var(context, "AUTH_USER")?, var(context, "REMOTE_USER")?, var(context, "AUTH_TYPE")?);
    if let Some(user) = context.user() {
        let _ = writeln!(
            out,
            "user={:?} roles={} editors={:?} admins={:?} primary={} impersonation={}",
            user.name().map(|n| n.to_string_lossy()),
            user.supports_is_in_role(),
            user.is_in_role("editors").map_err(|e| e.code()),
            user.is_in_role("admins").map_err(|e| e.code()),
            user.primary_token().is_some(),
            user.impersonation_token().is_some()
        );
    }
    let original = context.context2(&server)?.original_user().and_then(|u| u.name().map(|n| n.to_string_lossy()));
    let _ = writeln!(out, "original={original:?}");
    Ok(())
}

fn headers(context: &HttpContext<'_>, out: &mut String) -> httpserv::Result<()> {
    let request = context.request();
    let show = |v: Option<&[u8]>| v.map(|v| String::from_utf8_lossy(v).into_owned());
    request.set_known_header(HttpHeaderAcceptLanguage, "fr", false)?;
    let _ = writeln!(out, "appended={:?}", show(request.header("Accept-Language")));
    request.set_known_header(HttpHeaderAcceptLanguage, "de", true)?;
    let _ = writeln!(out, "replaced={:?}", show(request.known_header(HttpHeaderAcceptLanguage)));
    request.delete_known_header(HttpHeaderAcceptLanguage)?;
    let _ = writeln!(out, "deleted={:?}", show(request.header("Accept-Language")));
    Ok(())
}

fn response(context: &HttpContext<'_>, out: &mut String) -> httpserv::Result<()> {
    let server = context.server().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let response = context.response();
    server.add_fragment("footer", b"<footer/>")?;
    response.set_status_with_error(Status { code: 503, reason: "Busy", substatus: 2, try_skip_custom_errors: true }, HRESULT(0x8007_0005_u32 as i32))?;
    response.set_error_description("down for maintenance", true)?;
    response.set_header("X-Demo", "1")?;
    response.write(b"<main>")?;
    response.write_static(BANNER, Some(0))?;
    let sent = response.write_chunks(&[Chunk::Memory(b"</main>"), Chunk::Fragment("footer")], true)?;
    let raw = response.raw_response().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let chunks: Vec<String> = raw.chunks.iter().map(|c| match c {
        RawChunk::Memory(b) => format!("memory {:?}", String::from_utf8_lossy(b)),
        other => format!("{other:?}"),
    }).collect();
    let demo = raw.headers.iter().find(|(n, _)| *n == b"X-Demo").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let _ = write!(out, "\nsent={sent} status={} reason={:?} X-Demo={demo:?} chunks={chunks:?}\n", raw.status, String::from_utf8_lossy(raw.reason));
    Ok(())
}

fn trace(context: &HttpContext<'_>, out: &mut String) -> httpserv::Result<()> {
    let trace = context.trace().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let config = trace.configuration(&PROVIDER)?;
    let _ = writeln!(out, "{config:?}");
    let items = [TraceItem { name: "User", value: TraceValue::Str("alice") }, TraceItem { name: "Bytes", value: TraceValue::U64(42) }, TraceItem { name: "Delta", value: TraceValue::I32(-1) }];
    trace.raise_event(&TraceEvent { provider: PROVIDER, area: 1, area_guid: PROVIDER, event: 7, name: "LOGIN", version: 1, verbosity: 4, items: &items })
}

fn server(context: &HttpContext<'_>, out: &mut String) -> httpserv::Result<()> {
    let server = context.server().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let _ = writeln!(out, "config={:?}", server.v2()?.app_pool_config_file().map(|f| f.to_string_lossy()));
    let id = context.request().raw_request().map_or(0, |r| r.Base.RequestId);
    let mut sni = vec![0u8; core::mem::size_of::<HTTP_REQUEST_PROPERTY_SNI>()];
    let read = server.v3()?.query_request_property(id, HttpRequestPropertySni, &[], &mut sni).map_err(|e| e.code());
    let flags = u32::from_ne_bytes([sni[512], sni[513], sni[514], sni[515]]);
    let _ = writeln!(out, "sni={read:?} flags={flags}");
    let _ = writeln!(out, "translated={:?}", context.script_translated().map(|s| s.to_string_lossy()));
    // IHttpContext4 as a typed handle (its times are not printed: they differ between runs).
    let _four = context.context4(&server)?;
    let metadata = context.metadata().ok_or_else(|| httpserv::Error::from_hresult(httpserv::E_INVALIDARG))?;
    let _ = writeln!(out, "meta={:?} vr={:?}", metadata.meta_path().map(|p| p.to_string_lossy()), metadata.vr_path().map(|p| p.to_string_lossy()));
    let set_connection = context.set_connection_stored_context(String::from("per connection")).map_err(|e| e.code());
    // The metadata outlives requests: the second request finds the first one's value.
    let set_metadata = metadata.set_stored_context(String::from("per configuration")).map_err(|e| e.code());
    let _ = writeln!(
        out,
        "connection={set_connection:?} {:?} metadata={:?} {:?}",
        context.connection_stored_context::<String>(),
        set_metadata.is_ok(),
        metadata.stored_context::<String>()
    );
    Ok(())
}
