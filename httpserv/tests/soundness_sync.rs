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
