//! A global module and a request module sharing state.
//!
//! The global module [`Lifecycle`] counts `GL_APPLICATION_START`, `GL_APPLICATION_STOP` and
//! `GL_PRE_BEGIN_REQUEST` in the module's shared [`Counters`] (`state = Counters`: created once
//! by `RegisterModule`, reachable from every handler as `LifecycleModule::state()`). The request
//! module [`LifecycleModule`] counts the requests it sees in `RQ_BEGIN_REQUEST` and tells the
//! client in an `X-Requests-Seen` header, and all the counts in `X-Lifecycle-Counts`.
//!
//! The state belongs to the registration: IIS calls `RegisterModule` once per worker process, so
//! the counts are per worker process (a web garden has one set per process); each test server
//! registers the module anew and has counts of its own.

use std::sync::atomic::{AtomicU64, Ordering};

use httpserv::prelude::*;
use httpserv::{ApplicationProvider, PreBeginRequestProvider};

/// The response header carrying the number of requests seen so far, this one included.
pub const REQUESTS_SEEN_HEADER: &str = "X-Requests-Seen";

/// The response header carrying every count, as [`Counts::to_header`] writes it.
pub const COUNTS_HEADER: &str = "X-Lifecycle-Counts";

/// What the two modules count, shared by every request and the global module.
#[derive(Debug, Default)]
pub struct Counters {
    application_starts: AtomicU64,
    application_stops: AtomicU64,
    pre_begin_requests: AtomicU64,
    requests: AtomicU64,
}

/// A copy of the counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub application_starts: u64,
    pub application_stops: u64,
    pub pre_begin_requests: u64,
    pub requests: u64,
}

impl Counts {
    /// `starts=1 stops=0 pre_begin=3 requests=3`.
    pub fn to_header(&self) -> String {
        format!("starts={} stops={} pre_begin={} requests={}", self.application_starts, self.application_stops, self.pre_begin_requests, self.requests)
    }

    /// The inverse of [`Counts::to_header`].
    pub fn from_header(value: &str) -> Option<Counts> {
        let mut fields = value.split(' ').map(|f| f.split_once('=').and_then(|(_, n)| n.parse().ok()));
        let mut next = || fields.next().flatten();
        Some(Counts { application_starts: next()?, application_stops: next()?, pre_begin_requests: next()?, requests: next()? })
    }
}

impl Counters {
    pub fn snapshot(&self) -> Counts {
        Counts {
            application_starts: self.application_starts.load(Ordering::Relaxed),
            application_stops: self.application_stops.load(Ordering::Relaxed),
            pre_begin_requests: self.pre_begin_requests.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    /// Applications started and not stopped yet.
    pub fn running_applications(&self) -> u64 {
        let counts = self.snapshot();
        counts.application_starts.saturating_sub(counts.application_stops)
    }
}

#[http_module(name = "Lifecycle", global = Lifecycle, state = Counters, priority(on_begin_request = High), global_priority(on_global_application_start = First))]
#[derive(Default)]
pub struct LifecycleModule;

#[http_module]
impl HttpModule for LifecycleModule {
    fn on_begin_request(&mut self, context: &HttpContext<'_>, _: &EventProvider<'_>) -> HandlerResult {
        let state = LifecycleModule::state();
        let seen = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let response = context.response();
        response.set_header(REQUESTS_SEEN_HEADER, &seen.to_string())?;
        response.set_header(COUNTS_HEADER, &state.snapshot().to_header())?;
        Ok(NotificationStatus::Continue)
    }
}

/// The global module: one for the worker process, called on IIS's threads.
#[derive(Default)]
pub struct Lifecycle;

#[http_module]
impl GlobalModule for Lifecycle {
    fn on_global_application_start(&self, _provider: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        LifecycleModule::state().application_starts.fetch_add(1, Ordering::Relaxed);
        GlobalNotificationStatus::Continue
    }

    fn on_global_application_stop(&self, _provider: &ApplicationProvider<'_>) -> GlobalNotificationStatus {
        LifecycleModule::state().application_stops.fetch_add(1, Ordering::Relaxed);
        GlobalNotificationStatus::Continue
    }

    fn on_global_pre_begin_request(&self, _provider: &PreBeginRequestProvider<'_>) -> GlobalNotificationStatus {
        LifecycleModule::state().pre_begin_requests.fetch_add(1, Ordering::Relaxed);
        GlobalNotificationStatus::Continue
    }
}
