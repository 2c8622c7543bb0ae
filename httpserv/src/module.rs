//! What a module implements: `HttpModule` (request notifications) and `GlobalModule` (global
//! notifications), and the statuses their handlers return.
//!
//! Every handler has a default body, as in C++'s `CHttpModule`. Which notifications IIS sends
//! is not declared separately: `#[http_module]` on the `impl HttpModule` block derives the
//! request and post-request masks from the handlers the block defines, so the mask and the
//! handlers cannot disagree.

use crate::providers::*;
use crate::HttpContext;

/// What a request notification handler tells IIS (`REQUEST_NOTIFICATION_STATUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NotificationStatus {
    /// Go on with the request.
    #[default]
    Continue,
    /// Stop processing: IIS sends the response and ends the request.
    FinishRequest,
    // No `Pending`: `RQ_NOTIFICATION_PENDING` tells IIS the module will complete the
    // notification later (`IndicateCompletion` / `PostCompletion`), and a handler that returns it
    // with nothing to complete it hangs the request forever. Suspending belongs to asynchronous
    // handlers, which complete themselves.
}

impl NotificationStatus {
    /// The `RQ_NOTIFICATION_*` value a `CHttpModule` handler returns.
    pub fn to_raw(self) -> httpserv_sys::REQUEST_NOTIFICATION_STATUS {
        match self {
            Self::Continue => httpserv_sys::RQ_NOTIFICATION_CONTINUE,
            Self::FinishRequest => httpserv_sys::RQ_NOTIFICATION_FINISH_REQUEST,
        }
    }
}

/// What a global notification handler tells IIS (`GLOBAL_NOTIFICATION_STATUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GlobalNotificationStatus {
    /// Let other modules see the notification.
    #[default]
    Continue,
    /// This module handled it; IIS stops there.
    Handled,
}

impl GlobalNotificationStatus {
    /// The `GL_NOTIFICATION_*` value a `CGlobalModule` handler returns.
    pub fn to_raw(self) -> httpserv_sys::GLOBAL_NOTIFICATION_STATUS {
        match self {
            Self::Continue => httpserv_sys::GL_NOTIFICATION_CONTINUE,
            Self::Handled => httpserv_sys::GL_NOTIFICATION_HANDLED,
        }
    }
}

/// Calls `$callback!` with the table of request notifications: the `CHttpModule` slot, the
/// handler, the raw and safe provider types, the `RQ_*` bit and whether it is the
/// post-notification. The trait, the bridge's thunks and the masks all come from this table.
macro_rules! request_notifications {
    ($callback:ident) => {
        $callback! {
            OnBeginRequest, on_begin_request, IHttpEventProvider, EventProvider, RQ_BEGIN_REQUEST, false;
            OnPostBeginRequest, on_post_begin_request, IHttpEventProvider, EventProvider, RQ_BEGIN_REQUEST, true;
            OnAuthenticateRequest, on_authenticate_request, IAuthenticationProvider, AuthenticationProvider, RQ_AUTHENTICATE_REQUEST, false;
            OnPostAuthenticateRequest, on_post_authenticate_request, IHttpEventProvider, EventProvider, RQ_AUTHENTICATE_REQUEST, true;
            OnAuthorizeRequest, on_authorize_request, IHttpEventProvider, EventProvider, RQ_AUTHORIZE_REQUEST, false;
            OnPostAuthorizeRequest, on_post_authorize_request, IHttpEventProvider, EventProvider, RQ_AUTHORIZE_REQUEST, true;
            OnResolveRequestCache, on_resolve_request_cache, IHttpEventProvider, EventProvider, RQ_RESOLVE_REQUEST_CACHE, false;
            OnPostResolveRequestCache, on_post_resolve_request_cache, IHttpEventProvider, EventProvider, RQ_RESOLVE_REQUEST_CACHE, true;
            OnMapRequestHandler, on_map_request_handler, IMapHandlerProvider, MapHandlerProvider, RQ_MAP_REQUEST_HANDLER, false;
            OnPostMapRequestHandler, on_post_map_request_handler, IHttpEventProvider, EventProvider, RQ_MAP_REQUEST_HANDLER, true;
            OnAcquireRequestState, on_acquire_request_state, IHttpEventProvider, EventProvider, RQ_ACQUIRE_REQUEST_STATE, false;
            OnPostAcquireRequestState, on_post_acquire_request_state, IHttpEventProvider, EventProvider, RQ_ACQUIRE_REQUEST_STATE, true;
            OnPreExecuteRequestHandler, on_pre_execute_request_handler, IHttpEventProvider, EventProvider, RQ_PRE_EXECUTE_REQUEST_HANDLER, false;
            OnPostPreExecuteRequestHandler, on_post_pre_execute_request_handler, IHttpEventProvider, EventProvider, RQ_PRE_EXECUTE_REQUEST_HANDLER, true;
            OnExecuteRequestHandler, on_execute_request_handler, IHttpEventProvider, EventProvider, RQ_EXECUTE_REQUEST_HANDLER, false;
            OnPostExecuteRequestHandler, on_post_execute_request_handler, IHttpEventProvider, EventProvider, RQ_EXECUTE_REQUEST_HANDLER, true;
            OnReleaseRequestState, on_release_request_state, IHttpEventProvider, EventProvider, RQ_RELEASE_REQUEST_STATE, false;
            OnPostReleaseRequestState, on_post_release_request_state, IHttpEventProvider, EventProvider, RQ_RELEASE_REQUEST_STATE, true;
            OnUpdateRequestCache, on_update_request_cache, IHttpEventProvider, EventProvider, RQ_UPDATE_REQUEST_CACHE, false;
            OnPostUpdateRequestCache, on_post_update_request_cache, IHttpEventProvider, EventProvider, RQ_UPDATE_REQUEST_CACHE, true;
            OnLogRequest, on_log_request, IHttpEventProvider, EventProvider, RQ_LOG_REQUEST, false;
            OnPostLogRequest, on_post_log_request, IHttpEventProvider, EventProvider, RQ_LOG_REQUEST, true;
            OnEndRequest, on_end_request, IHttpEventProvider, EventProvider, RQ_END_REQUEST, false;
            OnPostEndRequest, on_post_end_request, IHttpEventProvider, EventProvider, RQ_END_REQUEST, true;
            OnSendResponse, on_send_response, ISendResponseProvider, SendResponseProvider, RQ_SEND_RESPONSE, false;
            OnMapPath, on_map_path, IMapPathProvider, MapPathProvider, RQ_MAP_PATH, false;
            OnReadEntity, on_read_entity, IReadEntityProvider, ReadEntityProvider, RQ_READ_ENTITY, false;
            OnCustomRequestNotification, on_custom_request_notification, ICustomNotificationProvider, CustomNotificationProvider, RQ_CUSTOM_NOTIFICATION, false;
        }
    };
}

/// Calls `$callback!` with the table of global notifications that take a provider.
macro_rules! global_notifications {
    ($callback:ident) => {
        $callback! {
            OnGlobalStopListening, on_global_stop_listening, IGlobalStopListeningProvider, StopListeningProvider, GL_STOP_LISTENING;
            OnGlobalCacheOperation, on_global_cache_operation, ICacheProvider, CacheProvider, GL_CACHE_OPERATION;
            OnGlobalConfigurationChange, on_global_configuration_change, IGlobalConfigurationChangeProvider, ConfigurationChangeProvider, GL_CONFIGURATION_CHANGE;
            OnGlobalFileChange, on_global_file_change, IGlobalFileChangeProvider, FileChangeProvider, GL_FILE_CHANGE;
            OnGlobalPreBeginRequest, on_global_pre_begin_request, IPreBeginRequestProvider, PreBeginRequestProvider, GL_PRE_BEGIN_REQUEST;
            OnGlobalApplicationStart, on_global_application_start, IHttpApplicationProvider, ApplicationProvider, GL_APPLICATION_START;
            OnGlobalApplicationResolveModules, on_global_application_resolve_modules, IHttpApplicationResolveModulesProvider, ApplicationResolveModulesProvider, GL_APPLICATION_RESOLVE_MODULES;
            OnGlobalApplicationStop, on_global_application_stop, IHttpApplicationProvider, ApplicationProvider, GL_APPLICATION_STOP;
            OnGlobalRSCAQuery, on_global_rsca_query, IGlobalRSCAQueryProvider, RscaQueryProvider, GL_RSCA_QUERY;
            OnGlobalTraceEvent, on_global_trace_event, IGlobalTraceEventProvider, TraceEventProvider, GL_TRACE_EVENT;
            OnGlobalCustomNotification, on_global_custom_notification, ICustomNotificationProvider, CustomNotificationProvider, GL_CUSTOM_NOTIFICATION;
            OnGlobalThreadCleanup, on_global_thread_cleanup, IGlobalThreadCleanupProvider, ThreadCleanupProvider, GL_THREAD_CLEANUP;
            OnGlobalApplicationPreload, on_global_application_preload, IGlobalApplicationPreloadProvider, ApplicationPreloadProvider, GL_APPLICATION_PRELOAD;
        }
    };
}

pub(crate) use {global_notifications, request_notifications};

macro_rules! http_module_trait {
    ($($slot:ident, $method:ident, $raw:ident, $provider:ident, $bit:ident, $post:literal;)*) => {
        /// A request-level module (`CHttpModule`): one object per request, created with
        /// `Default` when the request starts and dropped when IIS disposes it.
        ///
        /// Override the handlers of the notifications the module needs and put
        /// `#[http_module]` on the `impl` block: it registers exactly those. In that block a
        /// handler may also return a `Result` ([`crate::HandlerResult`], or anything
        /// implementing [`crate::IntoNotificationStatus`]) and use `?`: the attribute wraps it
        /// in the method below, and an `Err` becomes a 500 with its `HRESULT` (traced,
        /// `FinishRequest`). Handlers run on IIS worker threads, hence `Send`. A panic in a handler is caught: the request gets a
        /// 500 and `FinishRequest`, and the message goes to the request's trace.
        pub trait HttpModule: Send + 'static {
            $(
                #[doc = concat!("`CHttpModule::", stringify!($slot), "` (`", stringify!($bit), "`; post-notification: ", stringify!($post), ").")]
                fn $method(&mut self, context: &HttpContext<'_>, provider: &$provider<'_>) -> NotificationStatus {
                    let _ = (context, provider);
                    NotificationStatus::Continue
                }
            )*

            /// `CHttpModule::OnAsyncCompletion`: an asynchronous operation the module started
            /// completed during `notification` (an `RQ_*` bit).
            fn on_async_completion(
                &mut self,
                context: &HttpContext<'_>,
                notification: u32,
                post_notification: bool,
                provider: &EventProvider<'_>,
                completion: &crate::providers::CompletionInfo<'_>,
            ) -> NotificationStatus {
                let _ = (context, notification, post_notification, provider, completion);
                NotificationStatus::Continue
            }
        }

        /// One type per request handler, for `#[http_module]`'s `priority(on_x = ...)` check.
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub mod request_handler_names {
            $(
                #[doc = concat!("`", stringify!($method), "`.")]
                pub struct $method;
            )*
            /// `on_async_completion`.
            pub struct on_async_completion;
        }

        /// The request and post-request masks of each handler, for `#[http_module]`.
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub mod request_masks {
            $(pub const $method: (u32, u32) = if $post { (0, httpserv_sys::$bit) } else { (httpserv_sys::$bit, 0) };)*
            pub const on_async_completion: (u32, u32) = (0, 0);
        }
    };
}

request_notifications!(http_module_trait);

macro_rules! global_module_trait {
    ($($slot:ident, $method:ident, $raw:ident, $provider:ident, $bit:ident;)*) => {
        /// A global module (`CGlobalModule`): one object for the worker process, shared by
        /// every thread (hence `Sync`), dropped when IIS terminates it.
        ///
        /// As with [`HttpModule`], `#[http_module]` on the `impl GlobalModule` block registers
        /// exactly the handlers it defines. A panic is caught, reported to the server's trace,
        /// and the notification continues.
        pub trait GlobalModule: Send + Sync + 'static {
            $(
                #[doc = concat!("`CGlobalModule::", stringify!($slot), "` (`", stringify!($bit), "`).")]
                fn $method(&self, provider: &$provider<'_>) -> GlobalNotificationStatus {
                    let _ = provider;
                    GlobalNotificationStatus::Continue
                }
            )*

            /// `CGlobalModule::OnGlobalCacheCleanup` (`GL_CACHE_CLEANUP`).
            fn on_global_cache_cleanup(&self) -> GlobalNotificationStatus {
                GlobalNotificationStatus::Continue
            }

            /// `CGlobalModule::OnGlobalHealthCheck` (`GL_HEALTH_CHECK`).
            fn on_global_health_check(&self) -> GlobalNotificationStatus {
                GlobalNotificationStatus::Continue
            }

            /// `CGlobalModule::OnSuspendProcess` (`GL_SUSPEND_PROCESS`); no resume callback.
            fn on_suspend_process(&self) -> GlobalNotificationStatus {
                GlobalNotificationStatus::Continue
            }
        }

        /// One type per global handler, for `#[http_module]`'s `global_priority(on_x = ...)`
        /// check.
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub mod global_handler_names {
            $(
                #[doc = concat!("`", stringify!($method), "`.")]
                pub struct $method;
            )*
            /// `on_global_cache_cleanup`.
            pub struct on_global_cache_cleanup;
            /// `on_global_health_check`.
            pub struct on_global_health_check;
            /// `on_suspend_process`.
            pub struct on_suspend_process;
        }

        /// The global mask of each handler, for `#[http_module]`.
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub mod global_masks {
            $(pub const $method: u32 = httpserv_sys::$bit;)*
            pub const on_global_cache_cleanup: u32 = httpserv_sys::GL_CACHE_CLEANUP;
            pub const on_global_health_check: u32 = httpserv_sys::GL_HEALTH_CHECK;
            pub const on_suspend_process: u32 = httpserv_sys::GL_SUSPEND_PROCESS;
        }
    };
}

global_notifications!(global_module_trait);

/// `#[http_module]` implements `Implements<request_handler_names::on_x>` for a module whose
/// `impl HttpModule` block defines `on_x` (and likewise for global handlers), so a priority given
/// to a handler the module lacks is one error at the handler's name in `priority(...)`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a priority is given to a handler `{Self}` does not implement",
    label = "`{Self}` does not implement this handler",
    note = "priority(...) and global_priority(...) name handlers that the module's `#[http_module] impl` block defines"
)]
pub trait Implements<Handler> {}
