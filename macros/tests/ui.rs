//! Compile-fail and compile-pass tests of `#[http_module]`: each misuse must be reported with a
//! message that says what to do, pointing at the user's token.
//!
//! Regenerate the expected output after a deliberate change of a message:
//! `TRYBUILD=overwrite cargo test -p httpserv-macros --test ui`, then read the `.stderr` diffs.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
