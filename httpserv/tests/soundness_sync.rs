//! Holes found by the audit of the synchronous safe API (branch audit-api), each as a sequence
//! of safe calls that read freed or released IIS memory before its fix. Run under valgrind
//! (`valgrind --error-exitcode=1 target/debug/deps/soundness_sync-*`) the unfixed code reports
//! invalid reads; without valgrind the content checks see the simulator's poison (0xDD) or
//! the heap's reuse of the freed user.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use httpserv::prelude::*;
use httpserv::AuthenticatedUser;
use httpserv_testing::{Notification, TestRequest};

/// `context.user()` then a second `set_user`: IIS gives back (`DereferenceUser`) the user the
/// first `set_user` handed over, which frees it, while the module still holds a `User` handle
/// and the `WideStr` of its name. The handle now holds its own reference
/// (`ReferenceUser`/`DereferenceUser`), and the strings borrow the handle.
#[test]
fn a_user_handle_survives_set_user_replacing_its_user() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    on(Stage::AuthenticateRequest, move |context, provider| {
        let provider = provider.authentication();
        provider.set_user(AuthenticatedUser::new("alice-with-a-long-enough-name", "Basic").unwrap());
        let user = context.user().expect("the user set_user set");
        // Replaces (and, in IIS's hands, releases) alice while `user` still refers to her.
        provider.set_user(AuthenticatedUser::new("bob", "Negotiate").unwrap());
        // Heap churn of the size of the freed strings, so a dangling read sees other bytes.
        let churn: Vec<Vec<u16>> = (0..64).map(|_| vec![0x4141; 30]).collect();
        let mut out = out.borrow_mut();
        out.push(user.name().map(|n| n.to_string_lossy()));
        out.push(user.authentication_type().map(|n| n.to_string_lossy()));
        out.push(context.user().and_then(|u| u.name().map(|n| n.to_string_lossy())));
        drop(churn);
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/"));
    assert_eq!(
        *seen.borrow(),
        [Some("alice-with-a-long-enough-name".to_owned()), Some("Basic".to_owned()), Some("bob".to_owned())],
        "{}",
        response.transcript()
    );
    // IIS gave back alice when bob replaced her and bob at the end of the request.
    assert_eq!(details(&response, "IHttpUser::DereferenceUser"), ["the module's user (replaced by SetUser)", "the module's user (end of request)"]);
    sim.shutdown();
}

/// A handle to IIS's own user takes and gives back one reference per handle.
#[test]
fn a_user_handle_of_iis_holds_one_reference() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    on(Stage::ExecuteRequestHandler, move |context, _| {
        let user = context.user().expect("the request's user");
        let again = user.clone();
        *out.borrow_mut() = Some((user.name().map(|n| n.to_string_lossy()), again.name().map(|n| n.to_string_lossy())));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/").user("carol"));
    let carol = Some("carol".to_owned());
    assert_eq!(*seen.borrow(), Some((carol.clone(), carol)), "{}", response.transcript());
    assert_eq!(details(&response, "IHttpUser::ReferenceUser").len(), 2, "{}", response.transcript());
    assert_eq!(details(&response, "IHttpUser::DereferenceUser").len(), 2, "{}", response.transcript());
    sim.shutdown();
}

/// `MapPathProvider::physical_path` then `set_physical_path` on the same provider: IIS's
/// physical path string is replaced, and the simulator (as IIS may) releases the old one; the
/// path is now copied into request memory.
#[test]
fn the_physical_path_survives_set_physical_path() {
    let mut sim = Sim::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let out = seen.clone();
    on(Stage::MapPath, move |context, provider| {
        let p = provider.map_path();
        let before = p.physical_path(context).expect("a physical path");
        p.set_physical_path("D:\\elsewhere\\file.txt").unwrap();
        let after = p.physical_path(context).map(|a| a.to_string_lossy());
        out.borrow_mut().push((before.to_string_lossy(), after));
        NotificationStatus::Continue
    });
    let response = sim.send(TestRequest::get("/").other_module(Notification::ExecuteRequestHandler, move |raw| {
        // SAFETY: the simulator's live context of this request, used during the call only.
        let context = unsafe { HttpContext::from_raw(raw) }.unwrap();
        context.map_path("/file.txt").unwrap();
    }));
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1, "{}", response.transcript());
    // The poison (0xDDDD units, lone surrogates) reads back as U+FFFD.
    assert!(seen[0].0.ends_with("\\file.txt") && !seen[0].0.contains('\u{fffd}') && !seen[0].0.starts_with("D:"), "the path read before set_physical_path changed: {:?}", seen[0]);
    assert_eq!(seen[0].1.as_deref(), Some("D:\\elsewhere\\file.txt"));
}

/// Microsoft documents no alignment for `AllocateRequestMemory`; `map_path` took its buffer
/// there and made a `&mut [u16]` of it as if it were 2-aligned (in debug builds the standard
/// library's precondition check aborted the process; in release a misaligned slice is
/// undefined behaviour). Request memory is now aligned by the crate.
#[test]
fn map_path_does_not_assume_aligned_request_memory() {
    let ran = in_handler_with(TestRequest::get("/").odd_request_memory(), |context| {
        let odd = context.allocate_request_memory(2).map(|m| m.as_ptr() as usize % 2);
        (odd, context.map_path("/dir/file.txt").map_err(|e| e.to_string()))
    });
    assert_eq!(ran.value.0, Ok(1), "the simulator hands out odd request memory");
    let mapped = ran.value.1.expect("map_path");
    assert!(mapped.ends_with("dir\\file.txt"), "{mapped:?}");
}

/// As above, for `set_log_data`'s `HTTP_LOG_FIELDS_DATA` (pointers: 8-aligned), written to
/// request memory as if it were aligned, and the getters' copies (`None` before for odd memory).
#[derive(Default)]
struct OddLogger;

#[http_module]
impl HttpModule for OddLogger {
    fn on_execute_request_handler(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> NotificationStatus {
        let path = context.request().path().map(|p| p.to_string_lossy()).unwrap_or_else(|| "<none>".to_owned());
        context.response().set_header("X-Path", &path).unwrap();
        NotificationStatus::Continue
    }

    fn on_send_response(&mut self, context: &HttpContext<'_>, provider: &SendResponseProvider<'_>) -> NotificationStatus {
        if provider.ready_to_log() {
            let change = httpserv::LogDataChange { protocol_status: Some(299), ..Default::default() };
            let result = provider.set_log_data(context, &change);
            context.response().set_header("X-Set-Log-Data", &format!("{result:?}")).unwrap_or(());
        }
        NotificationStatus::Continue
    }
}

/// # Safety
/// Called as IIS calls `RegisterModule`.
unsafe extern "system" fn register_odd_logger(version: u32, info: *mut httpserv::__private::IHttpModuleRegistrationInfo, server: *mut httpserv::__private::IHttpServer) -> httpserv::__private::HRESULT {
    // SAFETY: the arguments are the test server's, passed through.
    unsafe {
        httpserv::__private::register_module(version, info, server, || None, |r| {
            r.request_module::<OddLogger>()?;
            // GetLogData answers only at First or High priority.
            r.request_priority(httpserv::sys::RQ_SEND_RESPONSE, httpserv::Priority::High)
        })
    }
}

#[test]
fn set_log_data_and_getters_do_not_assume_aligned_request_memory() {
    let mut sim = Sim::with(register_odd_logger);
    let response = sim.send(TestRequest::get("/some/path").odd_request_memory());
    assert_eq!(response.header("X-Path"), Some("/some/path"), "{}", response.transcript());
    assert_eq!(details(&response, "ISendResponseProvider::SetLogData").len(), 1, "{}", response.transcript());
    assert_eq!(response.log.status, 299, "{}", response.transcript());
    sim.shutdown();
}
