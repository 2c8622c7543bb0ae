// pipeline.cpp: drives the module as IIS's integrated pipeline does: per request, the
// deterministic notifications in order (with their post-notifications), the response send, log
// and end, then the module's Dispose; plus the global notifications.
#include "pipeline.h"
#include "server.h"

struct Stage {
    DWORD bit;
    const char* name;
    const char* post_name;
};

// IIS order. The first ten run until a module finishes the request; the response is sent;
// then the last two always run.
static const Stage s_stages[] = {
    {RQ_BEGIN_REQUEST, "OnBeginRequest", "OnPostBeginRequest"},
    {RQ_AUTHENTICATE_REQUEST, "OnAuthenticateRequest", "OnPostAuthenticateRequest"},
    {RQ_AUTHORIZE_REQUEST, "OnAuthorizeRequest", "OnPostAuthorizeRequest"},
    {RQ_RESOLVE_REQUEST_CACHE, "OnResolveRequestCache", "OnPostResolveRequestCache"},
    {RQ_MAP_REQUEST_HANDLER, "OnMapRequestHandler", "OnPostMapRequestHandler"},
    {RQ_ACQUIRE_REQUEST_STATE, "OnAcquireRequestState", "OnPostAcquireRequestState"},
    {RQ_PRE_EXECUTE_REQUEST_HANDLER, "OnPreExecuteRequestHandler", "OnPostPreExecuteRequestHandler"},
    {RQ_EXECUTE_REQUEST_HANDLER, "OnExecuteRequestHandler", "OnPostExecuteRequestHandler"},
    {RQ_RELEASE_REQUEST_STATE, "OnReleaseRequestState", "OnPostReleaseRequestState"},
    {RQ_UPDATE_REQUEST_CACHE, "OnUpdateRequestCache", "OnPostUpdateRequestCache"},
    {RQ_LOG_REQUEST, "OnLogRequest", "OnPostLogRequest"},
    {RQ_END_REQUEST, "OnEndRequest", "OnPostEndRequest"},
};
enum { STAGES_BEFORE_SEND = 10, STAGE_COUNT = 12 };

static const char* handler_name(DWORD n, bool post)
{
    for (unsigned i = 0; i < STAGE_COUNT; i++) {
        if (s_stages[i].bit == n) {
            return post ? s_stages[i].post_name : s_stages[i].name;
        }
    }
    switch (n) {
    case RQ_SEND_RESPONSE: return "OnSendResponse";
    case RQ_MAP_PATH: return "OnMapPath";
    case RQ_READ_ENTITY: return "OnReadEntity";
    }
    return "OnUnknownNotification";
}

// The provider IIS hands to the handler of notification n.
static IHttpEventProvider* provider_for(RequestState* rs, DWORD n, bool post)
{
    if (post) {
        return &rs->event_provider;
    }
    switch (n) {
    case RQ_AUTHENTICATE_REQUEST: return &rs->auth_provider;
    case RQ_MAP_REQUEST_HANDLER: return &rs->map_handler_provider;
    case RQ_SEND_RESPONSE: return &rs->send_provider;
    case RQ_MAP_PATH: return &rs->map_path_provider;
    case RQ_READ_ENTITY: return &rs->read_entity_provider;
    }
    return &rs->event_provider;
}

static REQUEST_NOTIFICATION_STATUS call_handler(CHttpModule* m, RequestState* rs, DWORD n, bool post)
{
    IHttpContext* c = &rs->context;
    IHttpEventProvider* e = &rs->event_provider;
    switch (n) {
    case RQ_BEGIN_REQUEST:
        return post ? m->OnPostBeginRequest(c, e) : m->OnBeginRequest(c, e);
    case RQ_AUTHENTICATE_REQUEST:
        return post ? m->OnPostAuthenticateRequest(c, e) : m->OnAuthenticateRequest(c, &rs->auth_provider);
    case RQ_AUTHORIZE_REQUEST:
        return post ? m->OnPostAuthorizeRequest(c, e) : m->OnAuthorizeRequest(c, e);
    case RQ_RESOLVE_REQUEST_CACHE:
        return post ? m->OnPostResolveRequestCache(c, e) : m->OnResolveRequestCache(c, e);
    case RQ_MAP_REQUEST_HANDLER:
        return post ? m->OnPostMapRequestHandler(c, e) : m->OnMapRequestHandler(c, &rs->map_handler_provider);
    case RQ_ACQUIRE_REQUEST_STATE:
        return post ? m->OnPostAcquireRequestState(c, e) : m->OnAcquireRequestState(c, e);
    case RQ_PRE_EXECUTE_REQUEST_HANDLER:
        return post ? m->OnPostPreExecuteRequestHandler(c, e) : m->OnPreExecuteRequestHandler(c, e);
    case RQ_EXECUTE_REQUEST_HANDLER:
        return post ? m->OnPostExecuteRequestHandler(c, e) : m->OnExecuteRequestHandler(c, e);
    case RQ_RELEASE_REQUEST_STATE:
        return post ? m->OnPostReleaseRequestState(c, e) : m->OnReleaseRequestState(c, e);
    case RQ_UPDATE_REQUEST_CACHE:
        return post ? m->OnPostUpdateRequestCache(c, e) : m->OnUpdateRequestCache(c, e);
    case RQ_LOG_REQUEST:
        return post ? m->OnPostLogRequest(c, e) : m->OnLogRequest(c, e);
    case RQ_END_REQUEST:
        return post ? m->OnPostEndRequest(c, e) : m->OnEndRequest(c, e);
    case RQ_SEND_RESPONSE:
        return m->OnSendResponse(c, &rs->send_provider);
    case RQ_MAP_PATH:
        return m->OnMapPath(c, &rs->map_path_provider);
    case RQ_READ_ENTITY:
        return m->OnReadEntity(c, &rs->read_entity_provider);
    }
    return RQ_NOTIFICATION_CONTINUE;
}

static REQUEST_NOTIFICATION_STATUS checked(REQUEST_NOTIFICATION_STATUS s, const char* name)
{
    if (s != RQ_NOTIFICATION_CONTINUE && s != RQ_NOTIFICATION_PENDING && s != RQ_NOTIFICATION_FINISH_REQUEST) {
        TX("error: %s returned %d, not a REQUEST_NOTIFICATION_STATUS; treated as RQ_NOTIFICATION_CONTINUE", name, (int)s);
        return RQ_NOTIFICATION_CONTINUE;
    }
    return s;
}

// RQ_NOTIFICATION_PENDING means the module will complete the request itself, asynchronously
// ("Indicates that an asynchronous operation is pending", REQUEST_NOTIFICATION_STATUS:
// https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/request-notification-status-enumeration),
// which it does with IHttpContext::IndicateCompletion ("Indicates that the current request has
// completed asynchronous processing":
// https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpcontext-indicatecompletion-method)
// or, after IHttpContext::PostCompletion, from OnAsyncCompletion. IIS never resolves a pending
// request on its own: with nothing to complete it, it hangs forever. All I/O here is
// synchronous, so whatever completes it must have been called during the notification; when
// nothing was, the simulator reports the failure and exits (code 5), as the Rust test server
// fails the request, instead of resuming it as if IndicateCompletion had been called.
static void left_pending(const char* name, bool indicated_pending)
{
    const char* why = indicated_pending ? "IndicateCompletion was given RQ_NOTIFICATION_PENDING"
                                        : "nothing called IndicateCompletion or PostCompletion";
    out_line("error: request left pending: %s returned RQ_NOTIFICATION_PENDING and %s (IIS would never finish this request)",
       name, why);
    out_line("result: FAILED: request %u left pending by %s", g.request_seq, name);
    out_flush();
    TerminateProcess(GetCurrentProcess(), 5);
}

REQUEST_NOTIFICATION_STATUS deliver(RequestState* rs, DWORD n, bool post)
{
    CHttpModule* m = rs->module;
    DWORD mask = post ? g.reg.post_mask : g.reg.request_mask;
    if (!m || !(mask & n)) {
        return RQ_NOTIFICATION_CONTINUE;
    }
    const char* name = handler_name(n, post);
    if ((post ? rs->disabled_post_mask : rs->disabled_mask) & n) {
        TX("skip %s (disabled by IHttpContext::DisableNotifications)", name);
        return RQ_NOTIFICATION_CONTINUE;
    }
    // Notifications nest (OnMapPath from a MapPath call in OnExecuteRequestHandler), so the
    // per-notification state of the outer one is kept and restored.
    DWORD saved_notification = rs->notification;
    bool saved_post = rs->post;
    DWORD saved_start = rs->notification_start;
    bool saved_indicated = rs->indicated;
    REQUEST_NOTIFICATION_STATUS saved_status = rs->indicated_status;
    bool saved_posted = rs->completion_posted;
    DWORD saved_bytes = rs->completion_bytes;

    rs->notification = n;
    rs->post = post;
    rs->notification_start = GetTickCount();
    rs->indicated = false;
    rs->completion_posted = false;
    g.st.notifications++;
    TX("enter %s", name);
    REQUEST_NOTIFICATION_STATUS s = checked(call_handler(m, rs, n, post), name);
    TX("notify %s -> %s", name, status_name(s));
    // Who returned the status being resolved: the handler, then OnAsyncCompletion.
    char returned_by[96];
    snprintf(returned_by, sizeof returned_by, "CHttpModule::%s", name);
    while (s == RQ_NOTIFICATION_PENDING) {
        g.st.pending++;
        if (rs->completion_posted) {
            // PostCompletion during the notification: IIS calls OnAsyncCompletion.
            rs->completion_posted = false;
            rs->indicated = false;
            rs->completion.bytes = rs->completion_bytes;
            rs->completion.status = S_OK;
            rs->completion.operation = 0;
            TX("enter OnAsyncCompletion(%s)", name);
            s = checked(m->OnAsyncCompletion(&rs->context, n, post ? TRUE : FALSE, provider_for(rs, n, post), &rs->completion), name);
            TX("notify OnAsyncCompletion(%s) -> %s", name, status_name(s));
            snprintf(returned_by, sizeof returned_by, "CHttpModule::OnAsyncCompletion (completing %s)", name);
            continue;
        }
        // No real asynchrony here: the request resumes at once with the status a call to
        // IndicateCompletion gave during the notification.
        if (rs->indicated && rs->indicated_status != RQ_NOTIFICATION_PENDING) {
            TX("pending %s: resumed as IndicateCompletion(%s)", name, status_name(rs->indicated_status));
            s = rs->indicated_status;
            continue;
        }
        left_pending(returned_by, rs->indicated);
    }

    rs->notification = saved_notification;
    rs->post = saved_post;
    rs->notification_start = saved_start;
    rs->indicated = saved_indicated;
    rs->indicated_status = saved_status;
    rs->completion_posted = saved_posted;
    rs->completion_bytes = saved_bytes;
    return s;
}

// Keeps an ended request allocated for a while (see Sim::retired).
static void retire(RequestState* rs)
{
    RequestState*& slot = g.retired[g.retired_next];
    delete slot;
    slot = rs;
    g.retired_next = (g.retired_next + 1) % (sizeof g.retired / sizeof g.retired[0]);
}

void release_retired_requests()
{
    for (unsigned i = 0; i < sizeof g.retired / sizeof g.retired[0]; i++) {
        delete g.retired[i];
        g.retired[i] = 0;
    }
}

static void end_request(RequestState* rs)
{
    unsigned number = rs->request_number;
    // The request's stored contexts go first, then the module object, then request memory
    // (which the module object may live in).
    rs->container.cleanup();
    rs->named.cleanup();
    rs->url_info.container.cleanup();
    rs->metadata.container.cleanup();
    rs->connection.container.disconnect();
    if (rs->module) {
        rs->module->Dispose();
        g.st.modules_disposed++;
        TX("call CHttpModule::Dispose");
    }
    rs->disposed = true;
    rs->dead = true;
    rs->free_request_memory();
    TX("end %u", number);
    g.current = 0;
    retire(rs);
}

void run_request(const ScriptRequest* sr)
{
    unsigned number = ++g.request_seq;
    g.st.requests++;
    RequestState* rs = new RequestState(number, sr);
    g.current = rs;
    TX("request %u: %s %s HTTP/%u.%u", number, sr->method, sr->url, (unsigned)sr->major, (unsigned)sr->minor);

    deliver_global(GL_PRE_BEGIN_REQUEST, rs, 0);

    if (g.reg.factory) {
        CHttpModule* m = 0;
        HRESULT hr = g.reg.factory->GetHttpModule(&m, &rs->allocator);
        TX("call IHttpModuleFactory::GetHttpModule -> %s", hr_name(hr));
        if (SUCCEEDED(hr) && m) {
            rs->module = m;
            g.st.modules_created++;
        } else {
            // IIS fails the request with a 500 when the factory cannot give a module.
            g.st.get_module_failures++;
            TX("error: GetHttpModule gave no module (%s); the request fails with 500", SUCCEEDED(hr) ? "NULL module" : hr_name(hr));
            rs->response.set_status(500, "Internal Server Error", 0, FAILED(hr) ? hr : E_POINTER);
        }
    }

    for (unsigned i = 0; i < STAGES_BEFORE_SEND && rs->module; i++) {
        const Stage& st = s_stages[i];
        if (deliver(rs, st.bit, false) == RQ_NOTIFICATION_FINISH_REQUEST) {
            TX("finish %u: after %s, skipping to the response", number, st.name);
            break;
        }
        if (deliver(rs, st.bit, true) == RQ_NOTIFICATION_FINISH_REQUEST) {
            TX("finish %u: after %s, skipping to the response", number, st.post_name);
            break;
        }
    }

    rs->response.send(true, false);
    rs->response.print(number);

    for (unsigned i = STAGES_BEFORE_SEND; i < STAGE_COUNT; i++) {
        const Stage& st = s_stages[i];
        // FINISH_REQUEST here only skips the post-notification: logging and ending still run.
        if (deliver(rs, st.bit, false) != RQ_NOTIFICATION_FINISH_REQUEST) {
            deliver(rs, st.bit, true);
        }
    }
    end_request(rs);
}

// ---------------------------------------------------------------------------------------------
// Global notifications.

void deliver_global(DWORD n, RequestState* rs, const wchar_t* argument)
{
    CGlobalModule* m = g.reg.global;
    if (!m || !(g.reg.global_mask & n)) {
        return;
    }
    g.st.global_notifications++;
    const char* name = "OnGlobalUnknown";
    GLOBAL_NOTIFICATION_STATUS s = GL_NOTIFICATION_CONTINUE;
    // Providers are allocated and never freed: a few bytes per global event, and a module that
    // keeps one past the notification does not call into freed memory.
    switch (n) {
    case GL_PRE_BEGIN_REQUEST:
        name = "OnGlobalPreBeginRequest";
        TX("enter %s", name);
        s = m->OnGlobalPreBeginRequest(&rs->pre_begin_provider);
        break;
    case GL_APPLICATION_START:
        name = "OnGlobalApplicationStart";
        TX("enter %s", name);
        s = m->OnGlobalApplicationStart(new ApplicationProvider());
        break;
    case GL_APPLICATION_RESOLVE_MODULES:
        name = "OnGlobalApplicationResolveModules";
        TX("enter %s", name);
        s = m->OnGlobalApplicationResolveModules(new ResolveModulesProvider());
        break;
    case GL_APPLICATION_STOP:
        name = "OnGlobalApplicationStop";
        TX("enter %s", name);
        s = m->OnGlobalApplicationStop(new ApplicationProvider());
        break;
    case GL_STOP_LISTENING:
        name = "OnGlobalStopListening";
        TX("enter %s", name);
        s = m->OnGlobalStopListening(new StopListeningProvider());
        break;
    case GL_HEALTH_CHECK:
        name = "OnGlobalHealthCheck";
        TX("enter %s", name);
        s = m->OnGlobalHealthCheck();
        break;
    case GL_CACHE_CLEANUP:
        name = "OnGlobalCacheCleanup";
        TX("enter %s", name);
        s = m->OnGlobalCacheCleanup();
        break;
    case GL_CONFIGURATION_CHANGE:
        name = "OnGlobalConfigurationChange";
        TX("enter %s", name);
        s = m->OnGlobalConfigurationChange(new ConfigurationChangeProvider(argument));
        break;
    case GL_FILE_CHANGE:
        name = "OnGlobalFileChange";
        TX("enter %s", name);
        s = m->OnGlobalFileChange(new FileChangeProvider(argument));
        break;
    case GL_THREAD_CLEANUP:
        name = "OnGlobalThreadCleanup";
        TX("enter %s", name);
        s = m->OnGlobalThreadCleanup(new ThreadCleanupProvider());
        break;
    default:
        return;
    }
    // With a single global module, GL_NOTIFICATION_HANDLED (stop calling further global
    // modules) changes nothing; the request goes on either way.
    TX("notify %s -> %s", name, global_status_name(s));
}
