//! The handler names `#[http_module]` knows, so that it reports a misspelled or misplaced name
//! itself, at the user's token, instead of through the masks it generates. The same tables as
//! `httpserv/src/module.rs` (`request_notifications!`, `global_notifications!`); httpserv's
//! `tests/handlers.rs` implements every handler and checks the masks the attribute derives
//! against httpserv's own, so the two cannot drift apart unnoticed.

/// Every `HttpModule` method (request handlers, post-notification handlers and
/// `on_async_completion`).
pub const REQUEST: &[&str] = &[
    "on_begin_request",
    "on_post_begin_request",
    "on_authenticate_request",
    "on_post_authenticate_request",
    "on_authorize_request",
    "on_post_authorize_request",
    "on_resolve_request_cache",
    "on_post_resolve_request_cache",
    "on_map_request_handler",
    "on_post_map_request_handler",
    "on_acquire_request_state",
    "on_post_acquire_request_state",
    "on_pre_execute_request_handler",
    "on_post_pre_execute_request_handler",
    "on_execute_request_handler",
    "on_post_execute_request_handler",
    "on_release_request_state",
    "on_post_release_request_state",
    "on_update_request_cache",
    "on_post_update_request_cache",
    "on_log_request",
    "on_post_log_request",
    "on_end_request",
    "on_post_end_request",
    "on_send_response",
    "on_map_path",
    "on_read_entity",
    "on_custom_request_notification",
    "on_async_completion",
];

/// Every `GlobalModule` method.
pub const GLOBAL: &[&str] = &[
    "on_global_stop_listening",
    "on_global_cache_operation",
    "on_global_configuration_change",
    "on_global_file_change",
    "on_global_pre_begin_request",
    "on_global_application_start",
    "on_global_application_resolve_modules",
    "on_global_application_stop",
    "on_global_rsca_query",
    "on_global_trace_event",
    "on_global_custom_notification",
    "on_global_thread_cleanup",
    "on_global_application_preload",
    "on_global_cache_cleanup",
    "on_global_health_check",
    "on_suspend_process",
];

/// A request handler whose priority can be set: not a post-notification (IIS takes one
/// priority per notification, `SetPriorityForRequestNotification`) nor `on_async_completion`.
pub fn has_priority(name: &str) -> bool {
    REQUEST.contains(&name) && !name.starts_with("on_post_") && name != "on_async_completion"
}

/// The closest known name to `name` (for "did you mean"), if one is close.
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().map(|k| (distance(name, k), *k)).filter(|(d, _)| *d <= 3).min_by_key(|(d, _)| *d).map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}
