// context.cpp: the request's state (RequestState), IHttpContext4 and the small per-request
// objects reachable from it (user, connection, URL info, metadata, script map), server
// variables and URL-to-path mapping.
#include "pipeline.h"
#include "server.h"

// ---------------------------------------------------------------------------------------------
// RequestState.

RequestState::RequestState(unsigned number, const ScriptRequest* sr)
    : script(sr), arena(), context(this), request(this), response(this), connection(this), url_info(this),
      metadata(this), script_map(this), script_user(this), user(0), container(this, "request"), named(this),
      trace(this, number), allocator(this), completion(this), event_provider(this), auth_provider(this),
      map_handler_provider(this), map_path_provider(this), send_provider(this), read_entity_provider(this),
      pre_begin_provider(this), module(0), disposed(false), notification(0), post(false), notification_start(0),
      in_send(false), in_map_path(false), in_read_entity(false), indicated(false),
      indicated_status(RQ_NOTIFICATION_CONTINUE), completion_posted(false), completion_bytes(0), disabled_mask(0),
      disabled_post_mask(0), variables(), physical(0), physical_len(0), script_name(0), script_name_len(0),
      error_status(S_OK), handled(false), start_tick(GetTickCount64()), memory_(0)
{
    request_number = number;
    dead = false;
    request.init(sr);
    if (sr->auth_user) {
        script_user.name = arena.widen(sr->auth_user, strlen(sr->auth_user), 0);
        script_user.type = arena.widen(sr->auth_type, strlen(sr->auth_type), 0);
        script_user.password = arena.widen(sr->auth_password, strlen(sr->auth_password), 0);
        user = &script_user;
    }
}

RequestState::~RequestState()
{
    free_request_memory();
    variables.release();
    arena.release();
}

void* RequestState::allocate_request_memory(DWORD bytes)
{
    // Each block is a real heap allocation with a link in front, so that a module overrunning
    // its block corrupts the heap as it would in IIS instead of silently another block.
    Block* b = static_cast<Block*>(malloc(sizeof(Block) + 16 + (bytes ? bytes : 1)));
    if (!b) {
        return 0;
    }
    b->next = memory_;
    memory_ = b;
    g.st.request_memory += bytes;
    return reinterpret_cast<char*>(b) + 16;
}

void RequestState::free_request_memory()
{
    while (memory_) {
        Block* next = memory_->next;
        free(memory_);
        memory_ = next;
    }
}

void RequestState::set_error_status(HRESULT hr, const char* what)
{
    track(this, what);
    error_status = hr;
    // IIS turns a failure reported this way into a 500 error response.
    if (FAILED(hr)) {
        response.set_status(500, "Internal Server Error", 0, hr);
    }
    TX("call %s(%s)", what, hr_name(hr));
}

wchar_t* RequestState::map_url(const wchar_t* url, DWORD url_len, DWORD* out_len)
{
    DWORD n = 0;
    while (n < url_len && url[n] && url[n] != L'?') {
        n++;
    }
    size_t root = wcslen(SIM_WWWROOT);
    wchar_t* path = static_cast<wchar_t*>(arena.alloc((root + n + 2) * sizeof(wchar_t)));
    memcpy(path, SIM_WWWROOT, root * sizeof(wchar_t));
    size_t at = root;
    if (n == 0 || url[0] != L'/') {
        path[at++] = L'\\';
    }
    for (DWORD i = 0; i < n; i++) {
        path[at++] = url[i] == L'/' ? L'\\' : url[i];
    }
    path[at] = 0;
    DWORD len = (DWORD)at;
    // RQ_MAP_PATH lets the module change the result; not while it is already mapping (a module
    // calling MapPath from OnMapPath gets the plain mapping).
    if (!in_map_path && module && ((g.reg.request_mask & RQ_MAP_PATH) != 0)) {
        map_path_provider.url = arena.wdup(url, n);
        map_path_provider.path = path;
        map_path_provider.path_len = len;
        in_map_path = true;
        deliver(this, RQ_MAP_PATH, false);
        in_map_path = false;
        path = map_path_provider.path;
        len = map_path_provider.path_len;
    }
    *out_len = len;
    return path;
}

const wchar_t* RequestState::physical_path(DWORD* len)
{
    if (!physical) {
        physical = map_url(request.path(), request.path_len(), &physical_len);
    }
    *len = physical_len;
    return physical;
}

static const wchar_t* widen_ascii(Arena& a, const char* s, DWORD* len)
{
    return a.widen(s, strlen(s), len);
}

// Network byte order to host, by hand: ntohs would pull in ws2_32.dll for one byte swap.
static unsigned port_of(const SOCKADDR* sa)
{
    const unsigned char* b = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const SOCKADDR_IN*>(sa)->sin_port);
    return (unsigned)b[0] << 8 | b[1];
}

static const char* ip_text(const SOCKADDR_IN* sa, char* buf, size_t n)
{
    const unsigned char* b = reinterpret_cast<const unsigned char*>(&sa->sin_addr);
    snprintf(buf, n, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
}

// Joins the request headers as ALL_RAW ("Name: value\r\n") or ALL_HTTP ("HTTP_NAME:value\n").
static const char* all_headers(RequestState* rs, bool http)
{
    Bytes out = Bytes();
    const HTTP_REQUEST& r = rs->request.raw;
    for (unsigned id = 0; id < HttpHeaderRequestMaximum; id++) {
        const HTTP_KNOWN_HEADER& k = r.Headers.KnownHeaders[id];
        if (!k.pRawValue) {
            continue;
        }
        const char* name = known_header_name(id, false);
        if (http) {
            out.append("HTTP_", 5);
            for (const char* c = name; *c; c++) {
                char u = *c == '-' ? '_' : (*c >= 'a' && *c <= 'z' ? (char)(*c - 32) : *c);
                out.append(&u, 1);
            }
            out.append(":", 1);
            out.append(k.pRawValue, k.RawValueLength);
            out.append("\n", 1);
        } else {
            out.append(name, strlen(name));
            out.append(": ", 2);
            out.append(k.pRawValue, k.RawValueLength);
            out.append("\r\n", 2);
        }
    }
    for (unsigned i = 0; i < r.Headers.UnknownHeaderCount; i++) {
        const HTTP_UNKNOWN_HEADER& u = r.Headers.pUnknownHeaders[i];
        if (http) {
            out.append("HTTP_", 5);
            for (USHORT j = 0; j < u.NameLength; j++) {
                char c = u.pName[j];
                char x = c == '-' ? '_' : (c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
                out.append(&x, 1);
            }
            out.append(":", 1);
            out.append(u.pRawValue, u.RawValueLength);
            out.append("\n", 1);
        } else {
            out.append(u.pName, u.NameLength);
            out.append(": ", 2);
            out.append(u.pRawValue, u.RawValueLength);
            out.append("\r\n", 2);
        }
    }
    const char* s = rs->arena.dup(reinterpret_cast<const char*>(out.p), out.n);
    out.release();
    return s;
}

bool RequestState::server_variable(const char* name, const wchar_t** value, DWORD* len)
{
    // Variables a module set win, the last one set first.
    for (unsigned i = variables.n; i-- > 0;) {
        if (ieq(variables.p[i].name, name)) {
            if (!variables.p[i].value) {
                return false;
            }
            *value = variables.p[i].value;
            *len = variables.p[i].len;
            return true;
        }
    }
    char buf[64];
    const char* a = 0;     // an ASCII/UTF-8 value, widened below
    const wchar_t* w = 0;  // or a UTF-16 one
    DWORD wl = 0;
    IHttpUser* u = user;
    if (ieq(name, "REQUEST_METHOD")) {
        a = request.method();
    } else if (ieq(name, "URL") || ieq(name, "PATH_INFO")) {
        w = request.path();
        wl = request.path_len();
    } else if (ieq(name, "SCRIPT_NAME")) {
        w = script_name ? script_name : request.path();
        wl = script_name ? script_name_len : request.path_len();
    } else if (ieq(name, "QUERY_STRING")) {
        w = request.query();
        wl = request.query_len();
    } else if (ieq(name, "REMOTE_ADDR") || ieq(name, "REMOTE_HOST")) {
        a = ip_text(reinterpret_cast<const SOCKADDR_IN*>(request.raw.Address.pRemoteAddress), buf, sizeof buf);
    } else if (ieq(name, "REMOTE_PORT")) {
        snprintf(buf, sizeof buf, "%u", port_of(request.raw.Address.pRemoteAddress));
        a = buf;
    } else if (ieq(name, "LOCAL_ADDR")) {
        a = ip_text(reinterpret_cast<const SOCKADDR_IN*>(request.raw.Address.pLocalAddress), buf, sizeof buf);
    } else if (ieq(name, "SERVER_PORT")) {
        snprintf(buf, sizeof buf, "%u", port_of(request.raw.Address.pLocalAddress));
        a = buf;
    } else if (ieq(name, "SERVER_NAME")) {
        const wchar_t* h = request.host();
        DWORD n = 0;
        while (h[n] && h[n] != L':') {
            n++;
        }
        w = h;
        wl = n;
    } else if (ieq(name, "SERVER_PROTOCOL") || ieq(name, "HTTP_VERSION")) {
        snprintf(buf, sizeof buf, "HTTP/%u.%u", (unsigned)request.raw.Version.MajorVersion, (unsigned)request.raw.Version.MinorVersion);
        a = buf;
    } else if (ieq(name, "SERVER_SOFTWARE")) {
        a = "Microsoft-IIS/10.0";
    } else if (ieq(name, "HTTPS")) {
        a = "off";
    } else if (ieq(name, "SERVER_PORT_SECURE")) {
        a = "0";
    } else if (ieq(name, "GATEWAY_INTERFACE")) {
        a = "CGI/1.1";
    } else if (ieq(name, "APP_POOL_ID")) {
        a = "DefaultAppPool";
    } else if (ieq(name, "APPL_PHYSICAL_PATH")) {
        w = SIM_WWWROOT L"\\";
        wl = (DWORD)wcslen(w);
    } else if (ieq(name, "APPL_MD_PATH")) {
        a = "/LM/W3SVC/1/ROOT";
    } else if (ieq(name, "INSTANCE_ID")) {
        a = "1";
    } else if (ieq(name, "INSTANCE_NAME")) {
        a = "DEFAULT WEB SITE";
    } else if (ieq(name, "INSTANCE_META_PATH")) {
        a = "/LM/W3SVC/1";
    } else if (ieq(name, "PATH_TRANSLATED") || ieq(name, "SCRIPT_TRANSLATED") || ieq(name, "REQUEST_FILENAME")) {
        w = physical_path(&wl);
    } else if (ieq(name, "CONTENT_LENGTH")) {
        USHORT n = 0;
        const char* v = request.headers.get((unsigned)HttpHeaderContentLength, &n);
        a = v ? arena.dup(v, n) : "0";
    } else if (ieq(name, "CONTENT_TYPE")) {
        USHORT n = 0;
        const char* v = request.headers.get((unsigned)HttpHeaderContentType, &n);
        a = v ? arena.dup(v, n) : "";
    } else if (ieq(name, "AUTH_TYPE")) {
        w = !u ? L"" : u == &script_user ? script_user.type : u->GetAuthenticationType();
    } else if (ieq(name, "AUTH_USER") || ieq(name, "REMOTE_USER") || ieq(name, "LOGON_USER")) {
        w = !u ? L"" : u == &script_user ? script_user.name : u->GetUserName();
    } else if (ieq(name, "AUTH_PASSWORD")) {
        w = !u ? L"" : u == &script_user ? script_user.password : u->GetPassword();
    } else if (ieq(name, "UNENCODED_URL") || ieq(name, "HTTP_URL")) {
        a = arena.dup(request.raw.pRawUrl, request.raw.RawUrlLength);
    } else if (ieq(name, "CACHE_URL")) {
        w = request.raw.CookedUrl.pFullUrl;
        wl = request.raw.CookedUrl.FullUrlLength / sizeof(wchar_t);
    } else if (ieq(name, "ALL_RAW")) {
        a = all_headers(this, false);
    } else if (ieq(name, "ALL_HTTP")) {
        a = all_headers(this, true);
    } else if (strncmp(name, "HTTP_", 5) == 0 || strncmp(name, "http_", 5) == 0 || strncmp(name, "HEADER_", 7) == 0 ||
               strncmp(name, "header_", 7) == 0) {
        // HTTP_USER_AGENT names the User-Agent header; HEADER_<name> names it as sent.
        bool http = (name[0] == 'H' || name[0] == 'h') && (name[1] == 'T' || name[1] == 't');
        const char* rest = name + (http ? 5 : 7);
        size_t n = strlen(rest);
        char* header = arena.dup(rest, n);
        if (http) {
            for (size_t i = 0; i < n; i++) {
                if (header[i] == '_') {
                    header[i] = '-';
                }
            }
        }
        USHORT vl = 0;
        const char* v = request.headers.get(header, &vl);
        if (!v) {
            return false;
        }
        a = arena.dup(v, vl);
    } else {
        return false;
    }
    if (a) {
        w = widen_ascii(arena, a, &wl);
    } else if (w && !wl) {
        wl = (DWORD)wcslen(w);
    }
    *value = w ? w : L"";
    *len = wl;
    return true;
}

// ---------------------------------------------------------------------------------------------
// IHttpContext4.

IHttpSite* Context::GetSite()
{
    track(rs_, "IHttpContext::GetSite");
    TX("call IHttpContext::GetSite -> site");
    return g.site;
}

IHttpApplication* Context::GetApplication()
{
    track(rs_, "IHttpContext::GetApplication");
    TX("call IHttpContext::GetApplication -> application");
    return g.app;
}

IHttpConnection* Context::GetConnection()
{
    track(rs_, "IHttpContext::GetConnection");
    TX("call IHttpContext::GetConnection -> connection");
    return &rs_->connection;
}

IHttpRequest* Context::GetRequest()
{
    track(rs_, "IHttpContext::GetRequest");
    TX("call IHttpContext::GetRequest -> request");
    return &rs_->request;
}

IHttpResponse* Context::GetResponse()
{
    track(rs_, "IHttpContext::GetResponse");
    TX("call IHttpContext::GetResponse -> response");
    return &rs_->response;
}

BOOL Context::GetResponseHeadersSent() const
{
    track(rs_, "IHttpContext::GetResponseHeadersSent");
    BOOL b = rs_->response.headers_sent ? TRUE : FALSE;
    TX("call IHttpContext::GetResponseHeadersSent -> %s", bool_name(b));
    return b;
}

IHttpUser* Context::GetUser() const
{
    track(rs_, "IHttpContext::GetUser");
    TX("call IHttpContext::GetUser -> %s", rs_->user ? "user" : "NULL");
    return rs_->user;
}

IHttpModuleContextContainer* Context::GetModuleContextContainer()
{
    track(rs_, "IHttpContext::GetModuleContextContainer");
    TX("call IHttpContext::GetModuleContextContainer -> container");
    return &rs_->container;
}

VOID Context::IndicateCompletion(REQUEST_NOTIFICATION_STATUS notificationStatus)
{
    track(rs_, "IHttpContext::IndicateCompletion");
    rs_->indicated = true;
    rs_->indicated_status = notificationStatus;
    TX("call IHttpContext::IndicateCompletion(%s)", status_name(notificationStatus));
}

HRESULT Context::PostCompletion(DWORD cbBytes)
{
    track(rs_, "IHttpContext::PostCompletion");
    // Delivered as OnAsyncCompletion once the current notification returns PENDING.
    rs_->completion_posted = true;
    rs_->completion_bytes = cbBytes;
    TX("call IHttpContext::PostCompletion(%lu) -> S_OK", (unsigned long)cbBytes);
    return S_OK;
}

VOID Context::DisableNotifications(DWORD dwNotifications, DWORD dwPostNotifications)
{
    track(rs_, "IHttpContext::DisableNotifications");
    rs_->disabled_mask |= dwNotifications;
    rs_->disabled_post_mask |= dwPostNotifications;
    TX("call IHttpContext::DisableNotifications(request=%s, post=%s)", request_mask_names(dwNotifications), request_mask_names(dwPostNotifications));
}

BOOL Context::GetNextNotification(REQUEST_NOTIFICATION_STATUS status, DWORD* pdwNotification, BOOL* pfIsPostNotification, CHttpModule** ppModuleInfo, IHttpEventProvider** ppRequestOutput)
{
    return not_implemented_false(rs_, "IHttpContext::GetNextNotification");
}

BOOL Context::GetIsLastNotification(REQUEST_NOTIFICATION_STATUS status)
{
    return not_implemented_false(rs_, "IHttpContext::GetIsLastNotification");
}

HRESULT Context::ExecuteRequest(BOOL fAsync, IHttpContext* pHttpContext, DWORD dwExecuteFlags, IHttpUser* pHttpUser, BOOL* pfCompletionExpected)
{
    return not_implemented(rs_, "IHttpContext::ExecuteRequest");
}

DWORD Context::GetExecuteFlags() const
{
    track(rs_, "IHttpContext::GetExecuteFlags");
    TX("call IHttpContext::GetExecuteFlags -> 0");
    return 0;
}

HRESULT Context::GetServerVariable(PCSTR pszVariableName, PCWSTR* ppszValue, DWORD* pcchValueLength)
{
    track(rs_, "IHttpContext::GetServerVariable");
    if (!pszVariableName || !ppszValue) {
        TX("call IHttpContext::GetServerVariable(%s, UTF-16) -> E_INVALIDARG", qa(pszVariableName));
        return E_INVALIDARG;
    }
    const wchar_t* v = 0;
    DWORD len = 0;
    if (!rs_->server_variable(pszVariableName, &v, &len)) {
        *ppszValue = 0;
        if (pcchValueLength) {
            *pcchValueLength = 0;
        }
        HRESULT hr = HRESULT_FROM_WIN32(ERROR_INVALID_INDEX);
        TX("call IHttpContext::GetServerVariable(%s, UTF-16) -> %s", qa(pszVariableName), hr_name(hr));
        return hr;
    }
    *ppszValue = v;
    if (pcchValueLength) {
        *pcchValueLength = len;
    }
    TX("call IHttpContext::GetServerVariable(%s, UTF-16) -> S_OK, %s", qa(pszVariableName), qw(v, (long)len));
    return S_OK;
}

HRESULT Context::GetServerVariable(PCSTR pszVariableName, PCSTR* ppszValue, DWORD* pcchValueLength)
{
    track(rs_, "IHttpContext::GetServerVariable");
    if (!pszVariableName || !ppszValue) {
        TX("call IHttpContext::GetServerVariable(%s, ANSI) -> E_INVALIDARG", qa(pszVariableName));
        return E_INVALIDARG;
    }
    const wchar_t* v = 0;
    DWORD len = 0;
    if (!rs_->server_variable(pszVariableName, &v, &len)) {
        *ppszValue = 0;
        if (pcchValueLength) {
            *pcchValueLength = 0;
        }
        HRESULT hr = HRESULT_FROM_WIN32(ERROR_INVALID_INDEX);
        TX("call IHttpContext::GetServerVariable(%s, ANSI) -> %s", qa(pszVariableName), hr_name(hr));
        return hr;
    }
    DWORD alen = 0;
    char* a = rs_->arena.narrow(v, len, &alen);
    *ppszValue = a;
    if (pcchValueLength) {
        *pcchValueLength = alen;
    }
    TX("call IHttpContext::GetServerVariable(%s, ANSI) -> S_OK, %s", qa(pszVariableName), qa(a, (long)alen));
    return S_OK;
}

HRESULT Context::SetServerVariable(PCSTR pszVariableName, PCWSTR pszVariableValue)
{
    track(rs_, "IHttpContext::SetServerVariable");
    if (!pszVariableName || !*pszVariableName) {
        TX("call IHttpContext::SetServerVariable(%s) -> E_INVALIDARG", qa(pszVariableName));
        return E_INVALIDARG;
    }
    // A NULL value removes the variable (it reads as unknown afterwards).
    ServerVariable v;
    v.name = rs_->arena.dup(pszVariableName);
    v.value = pszVariableValue ? rs_->arena.wdup(pszVariableValue) : 0;
    v.len = pszVariableValue ? (DWORD)wcslen(pszVariableValue) : 0;
    rs_->variables.push(v);
    TX("call IHttpContext::SetServerVariable(%s, %s) -> S_OK", qa(pszVariableName), qw(pszVariableValue));
    return S_OK;
}

VOID* Context::AllocateRequestMemory(DWORD cbAllocation)
{
    track(rs_, "IHttpContext::AllocateRequestMemory");
    void* p = rs_->allocate_request_memory(cbAllocation);
    TX("call IHttpContext::AllocateRequestMemory(%lu) -> %s", (unsigned long)cbAllocation, p ? "memory" : "NULL");
    return p;
}

IHttpUrlInfo* Context::GetUrlInfo()
{
    track(rs_, "IHttpContext::GetUrlInfo");
    TX("call IHttpContext::GetUrlInfo -> url info");
    return &rs_->url_info;
}

IMetadataInfo* Context::GetMetadata()
{
    track(rs_, "IHttpContext::GetMetadata");
    TX("call IHttpContext::GetMetadata -> metadata");
    return &rs_->metadata;
}

PCWSTR Context::GetPhysicalPath(DWORD* pcchPhysicalPath)
{
    track(rs_, "IHttpContext::GetPhysicalPath");
    DWORD len = 0;
    const wchar_t* p = rs_->physical_path(&len);
    if (pcchPhysicalPath) {
        *pcchPhysicalPath = len;
    }
    TX("call IHttpContext::GetPhysicalPath -> %s", qw(p, (long)len));
    return p;
}

PCWSTR Context::GetScriptName(DWORD* pcchScriptName) const
{
    track(rs_, "IHttpContext::GetScriptName");
    const wchar_t* s = rs_->script_name ? rs_->script_name : rs_->request.path();
    DWORD len = rs_->script_name ? rs_->script_name_len : rs_->request.path_len();
    if (pcchScriptName) {
        *pcchScriptName = len;
    }
    TX("call IHttpContext::GetScriptName -> %s", qw(s, (long)len));
    return s;
}

PCWSTR Context::GetScriptTranslated(DWORD* pcchScriptTranslated)
{
    track(rs_, "IHttpContext::GetScriptTranslated");
    DWORD len = 0;
    const wchar_t* p;
    if (rs_->script_name) {
        p = rs_->map_url(rs_->script_name, rs_->script_name_len, &len);
    } else {
        p = rs_->physical_path(&len);
    }
    if (pcchScriptTranslated) {
        *pcchScriptTranslated = len;
    }
    TX("call IHttpContext::GetScriptTranslated -> %s", qw(p, (long)len));
    return p;
}

IScriptMapInfo* Context::GetScriptMap() const
{
    track(rs_, "IHttpContext::GetScriptMap");
    TX("call IHttpContext::GetScriptMap -> script map");
    return &rs_->script_map;
}

VOID Context::SetRequestHandled()
{
    track(rs_, "IHttpContext::SetRequestHandled");
    rs_->handled = true;
    TX("call IHttpContext::SetRequestHandled");
}

IHttpFileInfo* Context::GetFileInfo() const
{
    return static_cast<IHttpFileInfo*>(not_implemented_null(rs_, "IHttpContext::GetFileInfo"));
}

HRESULT Context::MapPath(PCWSTR pszUrl, PWSTR pszPhysicalPath, DWORD* pcbPhysicalPath)
{
    track(rs_, "IHttpContext::MapPath");
    if (!pszUrl || !pcbPhysicalPath) {
        TX("call IHttpContext::MapPath(%s) -> E_INVALIDARG", qw(pszUrl));
        return E_INVALIDARG;
    }
    DWORD len = 0;
    const wchar_t* p = rs_->map_url(pszUrl, (DWORD)wcslen(pszUrl), &len);
    DWORD need = (len + 1) * (DWORD)sizeof(wchar_t);
    if (!pszPhysicalPath || *pcbPhysicalPath < need) {
        // The caller learns the size in bytes, with the terminating NUL, and asks again.
        *pcbPhysicalPath = need;
        HRESULT hr = HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER);
        TX("call IHttpContext::MapPath(%s) -> %s, need %lu bytes", qw(pszUrl), hr_name(hr), (unsigned long)need);
        return hr;
    }
    memcpy(pszPhysicalPath, p, need);
    *pcbPhysicalPath = need;
    TX("call IHttpContext::MapPath(%s) -> S_OK, %s", qw(pszUrl), qw(p, (long)len));
    return S_OK;
}

HRESULT Context::NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput, BOOL* pfCompletionExpected)
{
    return not_implemented(rs_, "IHttpContext::NotifyCustomNotification");
}

IHttpContext* Context::GetParentContext() const
{
    track(rs_, "IHttpContext::GetParentContext");
    // No child requests in the simulator (ExecuteRequest is not implemented).
    TX("call IHttpContext::GetParentContext -> NULL");
    return 0;
}

IHttpContext* Context::GetRootContext() const
{
    track(rs_, "IHttpContext::GetRootContext");
    TX("call IHttpContext::GetRootContext -> context");
    return const_cast<Context*>(this);
}

HRESULT Context::CloneContext(DWORD dwCloneFlags, IHttpContext** ppHttpContext)
{
    return not_implemented(rs_, "IHttpContext::CloneContext");
}

HRESULT Context::ReleaseClonedContext()
{
    return not_implemented(rs_, "IHttpContext::ReleaseClonedContext");
}

HRESULT Context::GetCurrentExecutionStats(DWORD* pdwNotification, DWORD* pdwNotificationStartTickCount, PCWSTR* ppszModule, DWORD* pdwModuleStartTickCount, DWORD* pdwAsyncNotification, DWORD* pdwAsyncNotificationStartTickCount) const
{
    track(rs_, "IHttpContext::GetCurrentExecutionStats");
    if (pdwNotification) {
        *pdwNotification = rs_->notification;
    }
    if (pdwNotificationStartTickCount) {
        *pdwNotificationStartTickCount = rs_->notification_start;
    }
    if (ppszModule) {
        *ppszModule = g.module_name;
    }
    if (pdwModuleStartTickCount) {
        *pdwModuleStartTickCount = rs_->notification_start;
    }
    if (pdwAsyncNotification) {
        *pdwAsyncNotification = 0;
    }
    if (pdwAsyncNotificationStartTickCount) {
        *pdwAsyncNotificationStartTickCount = 0;
    }
    TX("call IHttpContext::GetCurrentExecutionStats -> S_OK, notification=%s", request_mask_names(rs_->notification));
    return S_OK;
}

IHttpTraceContext* Context::GetTraceContext() const
{
    track(rs_, "IHttpContext::GetTraceContext");
    TX("call IHttpContext::GetTraceContext -> trace context");
    return &rs_->trace;
}

HRESULT Context::GetServerVarChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, DWORD* pdwVariableSnapshot, PCSTR** ppVariableNameSnapshot, PCWSTR** ppVariableValueSnapshot, DWORD* pdwDiffedVariables, DWORD** ppDiffedVariableIndices)
{
    return not_implemented(rs_, "IHttpContext::GetServerVarChanges");
}

HRESULT Context::CancelIo()
{
    track(rs_, "IHttpContext::CancelIo");
    // All I/O in the simulator completes synchronously, so there is never anything pending to
    // cancel; IIS answers S_OK in that case too.
    TX("call IHttpContext::CancelIo -> S_OK");
    return S_OK;
}

HRESULT Context::MapHandler(DWORD dwSiteId, PCWSTR pszSiteName, PCWSTR pszUrl, PCSTR pszVerb, IScriptMapInfo** ppScriptMap, BOOL fIgnoreWildcardMappings)
{
    return not_implemented(rs_, "IHttpContext::MapHandler");
}

HRESULT Context::GetExtendedInterface(HTTP_CONTEXT_INTERFACE_VERSION version, PVOID* ppInterface)
{
    // Deprecated by the SDK (IHttpServer2::GetExtendedInterface replaces it).
    return not_implemented(rs_, "IHttpContext::GetExtendedInterface");
}

IHttpUser* Context::GetOriginalUser() const
{
    track(rs_, "IHttpContext2::GetOriginalUser");
    IHttpUser* u = rs_->script->auth_user ? &rs_->script_user : 0;
    TX("call IHttpContext2::GetOriginalUser -> %s", u ? "user" : "NULL");
    return u;
}

INamedContextContainer* Context::GetNamedContextContainer()
{
    track(rs_, "IHttpContext3::GetNamedContextContainer");
    TX("call IHttpContext3::GetNamedContextContainer -> container");
    return &rs_->named;
}

VOID Context::EnableFullDuplex()
{
    track(rs_, "IHttpContext3::EnableFullDuplex");
    // Reads and writes never overlap in the simulator, so this changes nothing.
    TX("call IHttpContext3::EnableFullDuplex");
}

HRESULT Context::InheritServerVariable(PCSTR szName, BOOL fFailIfNotExist)
{
    return not_implemented(rs_, "IHttpContext3::InheritServerVariable");
}

HRESULT Context::PostCompletion(DWORD cbBytes, LPOVERLAPPED_COMPLETION_ROUTINE pfnCompletionRoutine, VOID* pvCompletionContext)
{
    return not_implemented(rs_, "IHttpContext3::PostCompletion");
}

ULONGLONG Context::GetRequestStartTime()
{
    track(rs_, "IHttpContext4::GetRequestStartTime");
    TX("call IHttpContext4::GetRequestStartTime -> tick count");
    return rs_->start_tick;
}

ULONGLONG Context::GetRequestElapsedTime()
{
    track(rs_, "IHttpContext4::GetRequestElapsedTime");
    ULONGLONG e = GetTickCount64() - rs_->start_tick;
    TX("call IHttpContext4::GetRequestElapsedTime -> milliseconds");
    return e;
}

// ---------------------------------------------------------------------------------------------
// IHttpUser (from the script's AUTH line).

PCWSTR User::GetRemoteUserName()
{
    track(rs_, "IHttpUser::GetRemoteUserName");
    TX("call IHttpUser::GetRemoteUserName -> %s", qw(name));
    return name;
}

PCWSTR User::GetUserName()
{
    track(rs_, "IHttpUser::GetUserName");
    TX("call IHttpUser::GetUserName -> %s", qw(name));
    return name;
}

PCWSTR User::GetAuthenticationType()
{
    track(rs_, "IHttpUser::GetAuthenticationType");
    TX("call IHttpUser::GetAuthenticationType -> %s", qw(type));
    return type;
}

PCWSTR User::GetPassword()
{
    track(rs_, "IHttpUser::GetPassword");
    TX("call IHttpUser::GetPassword -> %s", qw(password));
    return password;
}

HANDLE User::GetImpersonationToken()
{
    return not_implemented_null(rs_, "IHttpUser::GetImpersonationToken");
}

HANDLE User::GetPrimaryToken()
{
    return not_implemented_null(rs_, "IHttpUser::GetPrimaryToken");
}

VOID User::ReferenceUser()
{
    track(rs_, "IHttpUser::ReferenceUser");
    g.st.user_references++;
    TX("call IHttpUser::ReferenceUser");
}

VOID User::DereferenceUser()
{
    track(rs_, "IHttpUser::DereferenceUser");
    g.st.user_references--;
    TX("call IHttpUser::DereferenceUser");
}

BOOL User::SupportsIsInRole()
{
    track(rs_, "IHttpUser::SupportsIsInRole");
    TX("call IHttpUser::SupportsIsInRole -> FALSE");
    return FALSE;
}

HRESULT User::IsInRole(PCWSTR pszRoleName, BOOL* pfInRole)
{
    return not_implemented(rs_, "IHttpUser::IsInRole");
}

PVOID User::GetUserVariable(PCSTR pszVariableName)
{
    return not_implemented_null(rs_, "IHttpUser::GetUserVariable");
}

// ---------------------------------------------------------------------------------------------
// Connection, URL info, metadata, script map.

Connection::Connection(RequestState* rs) : container(rs), connected(true), rs_(rs) {}

BOOL Connection::IsConnected() const
{
    track(rs_, "IHttpConnection::IsConnected");
    TX("call IHttpConnection::IsConnected -> %s", bool_name(connected));
    return connected ? TRUE : FALSE;
}

VOID* Connection::AllocateMemory(DWORD cbAllocation)
{
    track(rs_, "IHttpConnection::AllocateMemory");
    // Each scripted request has a connection of its own, so connection memory is request
    // memory here.
    void* p = rs_->allocate_request_memory(cbAllocation);
    TX("call IHttpConnection::AllocateMemory(%lu) -> %s", (unsigned long)cbAllocation, p ? "memory" : "NULL");
    return p;
}

IHttpConnectionModuleContextContainer* Connection::GetModuleContextContainer()
{
    track(rs_, "IHttpConnection::GetModuleContextContainer");
    TX("call IHttpConnection::GetModuleContextContainer -> container");
    return &container;
}

UrlInfo::UrlInfo(RequestState* rs) : container(rs, "url"), rs_(rs) {}

IHttpModuleContextContainer* UrlInfo::GetModuleContextContainer()
{
    track(rs_, "IHttpUrlInfo::GetModuleContextContainer");
    TX("call IHttpUrlInfo::GetModuleContextContainer -> container");
    return &container;
}

BOOL UrlInfo::IsFrequentlyHit() const
{
    track(rs_, "IHttpUrlInfo::IsFrequentlyHit");
    TX("call IHttpUrlInfo::IsFrequentlyHit -> FALSE");
    return FALSE;
}

Metadata::Metadata(RequestState* rs) : container(rs, "metadata"), rs_(rs) {}

PCWSTR Metadata::GetMetaPath() const
{
    track(rs_, "IMetadataInfo::GetMetaPath");
    TX("call IMetadataInfo::GetMetaPath -> \"MACHINE/WEBROOT/APPHOST/Default Web Site\"");
    return L"MACHINE/WEBROOT/APPHOST/Default Web Site";
}

PCWSTR Metadata::GetVrPath() const
{
    track(rs_, "IMetadataInfo::GetVrPath");
    TX("call IMetadataInfo::GetVrPath -> %s", qw(SIM_WWWROOT));
    return SIM_WWWROOT;
}

IHttpTokenEntry* Metadata::GetVrToken()
{
    return static_cast<IHttpTokenEntry*>(not_implemented_null(rs_, "IMetadataInfo::GetVrToken"));
}

IHttpModuleContextContainer* Metadata::GetModuleContextContainer()
{
    track(rs_, "IMetadataInfo::GetModuleContextContainer");
    TX("call IMetadataInfo::GetModuleContextContainer -> container");
    return &container;
}

PCWSTR ScriptMap::GetPath() const
{
    track(rs_, "IScriptMapInfo::GetPath");
    TX("call IScriptMapInfo::GetPath -> \"*\"");
    return L"*";
}

PCSTR ScriptMap::GetAllowedVerbs() const
{
    track(rs_, "IScriptMapInfo::GetAllowedVerbs");
    TX("call IScriptMapInfo::GetAllowedVerbs -> \"*\"");
    return "*";
}

static PCWSTR with_length(PCWSTR s, DWORD* pcch)
{
    if (pcch) {
        *pcch = (DWORD)wcslen(s);
    }
    return s;
}

PCWSTR ScriptMap::GetModules(DWORD* pcchModules) const
{
    track(rs_, "IScriptMapInfo::GetModules");
    TX("call IScriptMapInfo::GetModules -> \"StaticFileModule,DefaultDocumentModule,DirectoryListingModule\"");
    return with_length(L"StaticFileModule,DefaultDocumentModule,DirectoryListingModule", pcchModules);
}

PCWSTR ScriptMap::GetScriptProcessor(DWORD* pcchScriptProcessor) const
{
    track(rs_, "IScriptMapInfo::GetScriptProcessor");
    TX("call IScriptMapInfo::GetScriptProcessor -> \"\"");
    return with_length(L"", pcchScriptProcessor);
}

PCWSTR ScriptMap::GetManagedType(DWORD* pcchManagedType) const
{
    track(rs_, "IScriptMapInfo::GetManagedType");
    TX("call IScriptMapInfo::GetManagedType -> \"\"");
    return with_length(L"", pcchManagedType);
}

BOOL ScriptMap::GetAllowPathInfoForScriptMappings() const
{
    track(rs_, "IScriptMapInfo::GetAllowPathInfoForScriptMappings");
    TX("call IScriptMapInfo::GetAllowPathInfoForScriptMappings -> FALSE");
    return FALSE;
}

DWORD ScriptMap::GetRequiredAccess() const
{
    track(rs_, "IScriptMapInfo::GetRequiredAccess");
    // Read access, as the StaticFile handler requires.
    TX("call IScriptMapInfo::GetRequiredAccess -> 1");
    return 1;
}

DWORD ScriptMap::GetResourceType() const
{
    track(rs_, "IScriptMapInfo::GetResourceType");
    // "Either" a file or a directory.
    TX("call IScriptMapInfo::GetResourceType -> 2");
    return 2;
}

BOOL ScriptMap::GetIsStarScriptMap() const
{
    track(rs_, "IScriptMapInfo::GetIsStarScriptMap");
    TX("call IScriptMapInfo::GetIsStarScriptMap -> FALSE");
    return FALSE;
}

DWORD ScriptMap::GetResponseBufferLimit() const
{
    track(rs_, "IScriptMapInfo::GetResponseBufferLimit");
    TX("call IScriptMapInfo::GetResponseBufferLimit -> 4194304");
    return 4194304;
}

PCWSTR ScriptMap::GetName() const
{
    track(rs_, "IScriptMapInfo::GetName");
    TX("call IScriptMapInfo::GetName -> \"StaticFile\"");
    return L"StaticFile";
}
