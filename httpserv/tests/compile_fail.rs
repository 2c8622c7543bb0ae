//! What the safe API refuses at compile time: a `Server` kept past the notification or the
//! registration it came from (it would call a freed `IHttpServer` once a test server is gone),
//! and `NotificationStatus::Pending` (nothing could complete the request).
//!
//! Regenerate the expected output after a deliberate change:
//! `TRYBUILD=overwrite cargo test -p httpserv --test compile_fail`, then read the diffs.

#[test]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
