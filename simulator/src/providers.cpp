// providers.cpp: module context containers, the module allocator, trace contexts, completion
// info and the event providers (see providers.h).
#include "pipeline.h"
#include "server.h"

// ---------------------------------------------------------------------------------------------
// Context stores and containers.

IHttpStoredContext* ContextStore::get(HTTP_MODULE_ID id) const
{
    for (unsigned i = 0; i < entries.n; i++) {
        if (entries.p[i].id == id) {
            return entries.p[i].context;
        }
    }
    return 0;
}

HRESULT ContextStore::set(IHttpStoredContext* context, HTTP_MODULE_ID id)
{
    if (!context) {
        return E_INVALIDARG;
    }
    // IIS keeps the first context a module stores; a second one is refused.
    if (get(id)) {
        return HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED);
    }
    Entry e = {id, context};
    entries.push(e);
    return S_OK;
}

void ContextStore::cleanup(const char* label)
{
    for (unsigned i = 0; i < entries.n; i++) {
        IHttpStoredContext* c = entries.p[i].context;
        c->CleanupStoredContext();
        g.st.stored_contexts_cleaned++;
        TX("call IHttpStoredContext::CleanupStoredContext (%s container)", label);
    }
    entries.release();
}

IHttpStoredContext* ModuleContextContainer::GetModuleContext(HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpModuleContextContainer::GetModuleContext");
    IHttpStoredContext* c = store_.get(moduleId);
    TX("call IHttpModuleContextContainer::GetModuleContext(%s) -> %s", label_, c ? "context" : "NULL");
    return c;
}

HRESULT ModuleContextContainer::SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpModuleContextContainer::SetModuleContext");
    HRESULT hr = store_.set(ppStoredContext, moduleId);
    TX("call IHttpModuleContextContainer::SetModuleContext(%s) -> %s", label_, hr_name(hr));
    return hr;
}

IHttpStoredContext* ConnectionContextContainer::GetModuleContext(HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpModuleContextContainer::GetModuleContext");
    IHttpStoredContext* c = store_.get(moduleId);
    TX("call IHttpModuleContextContainer::GetModuleContext(connection) -> %s", c ? "context" : "NULL");
    return c;
}

HRESULT ConnectionContextContainer::SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpModuleContextContainer::SetModuleContext");
    HRESULT hr = store_.set(ppStoredContext, moduleId);
    TX("call IHttpModuleContextContainer::SetModuleContext(connection) -> %s", hr_name(hr));
    return hr;
}

IHttpConnectionStoredContext* ConnectionContextContainer::GetConnectionModuleContext(HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpConnectionModuleContextContainer::GetConnectionModuleContext");
    IHttpConnectionStoredContext* c = static_cast<IHttpConnectionStoredContext*>(connection_store_.get(moduleId));
    TX("call IHttpConnectionModuleContextContainer::GetConnectionModuleContext -> %s", c ? "context" : "NULL");
    return c;
}

HRESULT ConnectionContextContainer::SetConnectionModuleContext(IHttpConnectionStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId)
{
    track(owner_, "IHttpConnectionModuleContextContainer::SetConnectionModuleContext");
    HRESULT hr = connection_store_.set(ppStoredContext, moduleId);
    TX("call IHttpConnectionModuleContextContainer::SetConnectionModuleContext -> %s", hr_name(hr));
    return hr;
}

void ConnectionContextContainer::disconnect()
{
    for (unsigned i = 0; i < connection_store_.entries.n; i++) {
        IHttpConnectionStoredContext* c = static_cast<IHttpConnectionStoredContext*>(connection_store_.entries.p[i].context);
        c->NotifyDisconnect();
        TX("call IHttpConnectionStoredContext::NotifyDisconnect");
    }
    connection_store_.cleanup("connection");
    store_.cleanup("connection");
}

IHttpStoredContext* DispensedContainer::GetModuleContext(HTTP_MODULE_ID moduleId)
{
    track(0, "IHttpModuleContextContainer::GetModuleContext");
    IHttpStoredContext* c = store_.get(moduleId);
    TX("call IHttpModuleContextContainer::GetModuleContext(dispensed) -> %s", c ? "context" : "NULL");
    return c;
}

HRESULT DispensedContainer::SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId)
{
    track(0, "IHttpModuleContextContainer::SetModuleContext");
    HRESULT hr = store_.set(ppStoredContext, moduleId);
    TX("call IHttpModuleContextContainer::SetModuleContext(dispensed) -> %s", hr_name(hr));
    return hr;
}

VOID DispensedContainer::ReleaseContainer()
{
    track(0, "IDispensedHttpModuleContextContainer::ReleaseContainer");
    TX("call IDispensedHttpModuleContextContainer::ReleaseContainer");
    store_.cleanup("dispensed");
    delete this;
}

IHttpStoredContext* NamedContextContainer::GetNamedContext(LPCWSTR szName)
{
    track(owner_, "INamedContextContainer::GetNamedContext");
    IHttpStoredContext* c = 0;
    for (unsigned i = 0; szName && i < entries_.n; i++) {
        if (wcscmp(entries_.p[i].name, szName) == 0) {
            c = entries_.p[i].context;
        }
    }
    TX("call INamedContextContainer::GetNamedContext(%s) -> %s", qw(szName), c ? "context" : "NULL");
    return c;
}

HRESULT NamedContextContainer::SetNamedContext(IHttpStoredContext* ppStoredContext, LPCWSTR szName)
{
    track(owner_, "INamedContextContainer::SetNamedContext");
    HRESULT hr = S_OK;
    if (!ppStoredContext || !szName) {
        hr = E_INVALIDARG;
    } else {
        for (unsigned i = 0; i < entries_.n; i++) {
            if (wcscmp(entries_.p[i].name, szName) == 0) {
                hr = HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED);
            }
        }
    }
    if (hr == S_OK) {
        size_t n = wcslen(szName);
        Entry e;
        e.name = static_cast<wchar_t*>(malloc((n + 1) * sizeof(wchar_t)));
        memcpy(e.name, szName, (n + 1) * sizeof(wchar_t));
        e.context = ppStoredContext;
        entries_.push(e);
    }
    TX("call INamedContextContainer::SetNamedContext(%s) -> %s", qw(szName), hr_name(hr));
    return hr;
}

void NamedContextContainer::cleanup()
{
    for (unsigned i = 0; i < entries_.n; i++) {
        entries_.p[i].context->CleanupStoredContext();
        g.st.stored_contexts_cleaned++;
        TX("call IHttpStoredContext::CleanupStoredContext (named container %s)", qw(entries_.p[i].name));
        free(entries_.p[i].name);
    }
    entries_.release();
}

// ---------------------------------------------------------------------------------------------
// Allocator, trace, completion.

VOID* ModuleAllocator::AllocateMemory(DWORD cbAllocation)
{
    track(rs_, "IModuleAllocator::AllocateMemory");
    void* p = rs_->allocate_request_memory(cbAllocation);
    TX("call IModuleAllocator::AllocateMemory(%lu) -> %s", (unsigned long)cbAllocation, p ? "memory" : "NULL");
    return p;
}

HRESULT TraceContext::GetTraceConfiguration(HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration)
{
    return not_implemented(owner_, "IHttpTraceContext::GetTraceConfiguration");
}

HRESULT TraceContext::SetTraceConfiguration(HTTP_MODULE_ID moduleId, HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration, DWORD cHttpTraceConfiguration)
{
    return not_implemented(owner_, "IHttpTraceContext::SetTraceConfiguration");
}

// The start of httptrace.h's HTTP_TRACE_EVENT, as far as the event name; the header of this
// project only declares the type.
struct TraceEventHead {
    LPCGUID pProviderGuid;
    DWORD dwArea;
    LPCGUID pAreaGuid;
    DWORD dwEvent;
    LPCWSTR pszEventName;
};

HRESULT TraceContext::RaiseTraceEvent(HTTP_TRACE_EVENT* pTraceEvent)
{
    track(owner_, "IHttpTraceContext::RaiseTraceEvent");
    if (!pTraceEvent) {
        TX("call IHttpTraceContext::RaiseTraceEvent(NULL) -> E_INVALIDARG");
        return E_INVALIDARG;
    }
    const TraceEventHead* e = reinterpret_cast<const TraceEventHead*>(pTraceEvent);
    TX("call IHttpTraceContext::RaiseTraceEvent(name=%s, event=%lu) -> S_OK", qw(e->pszEventName), (unsigned long)e->dwEvent);
    return S_OK;
}

LPCGUID TraceContext::GetTraceActivityId()
{
    track(owner_, "IHttpTraceContext::GetTraceActivityId");
    TX("call IHttpTraceContext::GetTraceActivityId -> {%08lX-0000-0000-0000-000000000000}", (unsigned long)activity_.Data1);
    return &activity_;
}

HRESULT TraceContext::QuickTrace(PCWSTR pszData1, PCWSTR pszData2, HRESULT hrLastError, UCHAR Level)
{
    track(owner_, "IHttpTraceContext::QuickTrace");
    TX("call IHttpTraceContext::QuickTrace(data1=%s, data2=%s, hr=%s, level=%u) -> S_OK", qw(pszData1), qw(pszData2), hr_name(hrLastError), (unsigned)Level);
    return S_OK;
}

DWORD CompletionInfo::GetCompletionBytes() const
{
    track(owner_, "IHttpCompletionInfo::GetCompletionBytes");
    TX("call IHttpCompletionInfo::GetCompletionBytes -> %lu", (unsigned long)bytes);
    return bytes;
}

HRESULT CompletionInfo::GetCompletionStatus() const
{
    track(owner_, "IHttpCompletionInfo::GetCompletionStatus");
    TX("call IHttpCompletionInfo::GetCompletionStatus -> %s", hr_name(status));
    return status;
}

DWORD CompletionInfo::GetCompletedOperation() const
{
    track(owner_, "IHttpCompletionInfo2::GetCompletedOperation");
    TX("call IHttpCompletionInfo2::GetCompletedOperation -> %lu", (unsigned long)operation);
    return operation;
}

// ---------------------------------------------------------------------------------------------
// Request-level providers.

VOID EventProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

VOID AuthenticationProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

VOID AuthenticationProvider::SetUser(IHttpUser* pUser)
{
    track(rs_, "IAuthenticationProvider::SetUser");
    rs_->user = pUser;
    TX("call IAuthenticationProvider::SetUser(%s)", pUser ? "user" : "NULL");
}

VOID MapHandlerProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

HRESULT MapHandlerProvider::SetScriptName(PCWSTR pszScriptName, DWORD cchScriptName)
{
    track(rs_, "IMapHandlerProvider::SetScriptName");
    if (!pszScriptName) {
        TX("call IMapHandlerProvider::SetScriptName(NULL) -> E_INVALIDARG");
        return E_INVALIDARG;
    }
    rs_->script_name = rs_->arena.wdup(pszScriptName, cchScriptName);
    rs_->script_name_len = cchScriptName;
    TX("call IMapHandlerProvider::SetScriptName(%s) -> S_OK", qw(pszScriptName, (long)cchScriptName));
    return S_OK;
}

VOID MapHandlerProvider::SetScriptMap(IScriptMapInfo* pScriptMap)
{
    not_implemented_void(rs_, "IMapHandlerProvider::SetScriptMap");
}

VOID MapHandlerProvider::SetFileInfo(IHttpFileInfo* pFileInfo)
{
    not_implemented_void(rs_, "IMapHandlerProvider::SetFileInfo");
}

VOID MapPathProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

PCWSTR MapPathProvider::GetUrl() const
{
    track(rs_, "IMapPathProvider::GetUrl");
    TX("call IMapPathProvider::GetUrl -> %s", qw(url));
    return url;
}

PCWSTR MapPathProvider::GetPhysicalPath() const
{
    track(rs_, "IMapPathProvider::GetPhysicalPath");
    TX("call IMapPathProvider::GetPhysicalPath -> %s", qw(path));
    return path;
}

HRESULT MapPathProvider::SetPhysicalPath(PCWSTR pszPhysicalPath, DWORD cchPhysicalPath)
{
    track(rs_, "IMapPathProvider::SetPhysicalPath");
    if (!pszPhysicalPath) {
        TX("call IMapPathProvider::SetPhysicalPath(NULL) -> E_INVALIDARG");
        return E_INVALIDARG;
    }
    path = rs_->arena.wdup(pszPhysicalPath, cchPhysicalPath);
    path_len = cchPhysicalPath;
    TX("call IMapPathProvider::SetPhysicalPath(%s) -> S_OK", qw(path));
    return S_OK;
}

VOID SendResponseProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

BOOL SendResponseProvider::GetHeadersBeingSent() const
{
    track(rs_, "ISendResponseProvider::GetHeadersBeingSent");
    TX("call ISendResponseProvider::GetHeadersBeingSent -> %s", bool_name(headers_being_sent));
    return headers_being_sent;
}

DWORD SendResponseProvider::GetFlags() const
{
    track(rs_, "ISendResponseProvider::GetFlags");
    TX("call ISendResponseProvider::GetFlags -> 0x%lX", (unsigned long)flags);
    return flags;
}

VOID SendResponseProvider::SetFlags(DWORD dwFlags)
{
    track(rs_, "ISendResponseProvider::SetFlags");
    flags = dwFlags;
    TX("call ISendResponseProvider::SetFlags(0x%lX)", (unsigned long)dwFlags);
}

HTTP_LOG_DATA* SendResponseProvider::GetLogData() const
{
    track(rs_, "ISendResponseProvider::GetLogData");
    // The log fields exist only on the final send, and are filled when first asked for.
    if (ready_to_log && !log_data) {
        SendResponseProvider* self = const_cast<SendResponseProvider*>(this);
        fill_log_fields(rs_, &self->fields);
        self->log_data = &self->fields.Base;
    }
    TX("call ISendResponseProvider::GetLogData -> %s", log_data ? "log data" : "NULL");
    return log_data;
}

HRESULT SendResponseProvider::SetLogData(HTTP_LOG_DATA* pLogData)
{
    track(rs_, "ISendResponseProvider::SetLogData");
    if (!ready_to_log) {
        TX("call ISendResponseProvider::SetLogData -> E_UNEXPECTED (not the final send)");
        return E_UNEXPECTED;
    }
    log_data = pLogData;
    TX("call ISendResponseProvider::SetLogData -> S_OK");
    return S_OK;
}

BOOL SendResponseProvider::GetReadyToLogData() const
{
    track(rs_, "ISendResponseProvider::GetReadyToLogData");
    TX("call ISendResponseProvider::GetReadyToLogData -> %s", bool_name(ready_to_log));
    return ready_to_log;
}

VOID ReadEntityProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

VOID ReadEntityProvider::GetEntity(PVOID* ppBuffer, DWORD* pcbData, DWORD* pcbBuffer)
{
    track(rs_, "IReadEntityProvider::GetEntity");
    if (ppBuffer) {
        *ppBuffer = buffer;
    }
    if (pcbData) {
        *pcbData = data;
    }
    if (pcbBuffer) {
        *pcbBuffer = size;
    }
    TX("call IReadEntityProvider::GetEntity -> data=%lu buffer=%lu", (unsigned long)data, (unsigned long)size);
}

VOID ReadEntityProvider::SetEntity(PVOID pBuffer, DWORD cbData, DWORD cbBuffer)
{
    track(rs_, "IReadEntityProvider::SetEntity");
    buffer = pBuffer;
    data = cbData;
    size = cbBuffer;
    TX("call IReadEntityProvider::SetEntity(data=%lu, buffer=%lu)", (unsigned long)cbData, (unsigned long)cbBuffer);
}

VOID PreBeginRequestProvider::SetErrorStatus(HRESULT hrError)
{
    rs_->set_error_status(hrError, "IHttpEventProvider::SetErrorStatus");
}

IHttpContext* PreBeginRequestProvider::GetHttpContext()
{
    track(rs_, "IPreBeginRequestProvider::GetHttpContext");
    TX("call IPreBeginRequestProvider::GetHttpContext -> context");
    return &rs_->context;
}

// ---------------------------------------------------------------------------------------------
// Global providers.

static void global_set_error(HRESULT hr)
{
    track(0, "IHttpEventProvider::SetErrorStatus");
    TX("call IHttpEventProvider::SetErrorStatus(%s)", hr_name(hr));
}

VOID ApplicationProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

IHttpApplication* ApplicationProvider::GetApplication()
{
    track(0, "IHttpApplicationProvider::GetApplication");
    TX("call IHttpApplicationProvider::GetApplication -> application");
    return g.app;
}

VOID ResolveModulesProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

IHttpApplication* ResolveModulesProvider::GetApplication()
{
    track(0, "IHttpApplicationProvider::GetApplication");
    TX("call IHttpApplicationProvider::GetApplication -> application");
    return g.app;
}

HRESULT ResolveModulesProvider::RegisterModule(HTTP_MODULE_ID parentModuleId, IHttpModuleFactory* pModuleFactory, PCWSTR pszModuleName, PCWSTR pszModuleType, PCWSTR pszModulePreCondition, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications)
{
    return not_implemented(0, "IHttpApplicationResolveModulesProvider::RegisterModule");
}

HRESULT ResolveModulesProvider::SetPriorityForRequestNotification(PCWSTR pszModuleName, DWORD dwRequestNotification, PCWSTR pszPriorityAlias)
{
    return not_implemented(0, "IHttpApplicationResolveModulesProvider::SetPriorityForRequestNotification");
}

VOID StopListeningProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

BOOL StopListeningProvider::DrainRequestsGracefully() const
{
    track(0, "IGlobalStopListeningProvider::DrainRequestsGracefully");
    TX("call IGlobalStopListeningProvider::DrainRequestsGracefully -> TRUE");
    return TRUE;
}

VOID ConfigurationChangeProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

PCWSTR ConfigurationChangeProvider::GetChangePath() const
{
    track(0, "IGlobalConfigurationChangeProvider::GetChangePath");
    TX("call IGlobalConfigurationChangeProvider::GetChangePath -> %s", qw(path_));
    return path_;
}

VOID FileChangeProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

PCWSTR FileChangeProvider::GetFileName() const
{
    track(0, "IGlobalFileChangeProvider::GetFileName");
    TX("call IGlobalFileChangeProvider::GetFileName -> %s", qw(path_));
    return path_;
}

IHttpFileMonitor* FileChangeProvider::GetFileMonitor()
{
    return static_cast<IHttpFileMonitor*>(not_implemented_null(0, "IGlobalFileChangeProvider::GetFileMonitor"));
}

VOID ThreadCleanupProvider::SetErrorStatus(HRESULT hrError)
{
    global_set_error(hrError);
}

IHttpApplication* ThreadCleanupProvider::GetApplication()
{
    track(0, "IGlobalThreadCleanupProvider::GetApplication");
    TX("call IGlobalThreadCleanupProvider::GetApplication -> application");
    return g.app;
}
