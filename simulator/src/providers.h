// providers.h: the small objects handed to modules around the request: module context
// containers, the module allocator, trace contexts, completion info, and the event providers
// passed to request-level and global notification handlers.
#ifndef IIS_SIMULATOR_PROVIDERS_H
#define IIS_SIMULATOR_PROVIDERS_H

#include "transcript.h"

class RequestState;

// Stored contexts by module id; the storage behind every container below.
struct ContextStore {
    struct Entry {
        HTTP_MODULE_ID id;
        IHttpStoredContext* context;
    };
    Vec<Entry> entries;

    IHttpStoredContext* get(HTTP_MODULE_ID id) const;
    HRESULT set(IHttpStoredContext* context, HTTP_MODULE_ID id);
    // Calls CleanupStoredContext on each stored context (as IIS does when the owner of the
    // container goes away) and forgets them. `label` names the container in the transcript.
    void cleanup(const char* label);
};

class ModuleContextContainer : public IHttpModuleContextContainer {
public:
    ModuleContextContainer(const Owner* owner, const char* label) : owner_(owner), label_(label), store_() {}
    IHttpStoredContext* GetModuleContext(HTTP_MODULE_ID moduleId) override;
    HRESULT SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) override;
    void cleanup() { store_.cleanup(label_); }

private:
    const Owner* owner_;
    const char* label_;
    ContextStore store_;
};

class ConnectionContextContainer : public IHttpConnectionModuleContextContainer {
public:
    explicit ConnectionContextContainer(const Owner* owner) : owner_(owner), store_(), connection_store_() {}
    IHttpStoredContext* GetModuleContext(HTTP_MODULE_ID moduleId) override;
    HRESULT SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) override;
    IHttpConnectionStoredContext* GetConnectionModuleContext(HTTP_MODULE_ID moduleId) override;
    HRESULT SetConnectionModuleContext(IHttpConnectionStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) override;
    // The connection closes: NotifyDisconnect, then CleanupStoredContext.
    void disconnect();

private:
    const Owner* owner_;
    ContextStore store_;
    ContextStore connection_store_;
};

// What IHttpServer::DispenseContainer hands out; ReleaseContainer cleans up and frees it.
class DispensedContainer final : public IDispensedHttpModuleContextContainer {
public:
    DispensedContainer() : store_() {}
    IHttpStoredContext* GetModuleContext(HTTP_MODULE_ID moduleId) override;
    HRESULT SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) override;
    VOID ReleaseContainer() override;

private:
    ContextStore store_;
};

class NamedContextContainer : public INamedContextContainer {
public:
    explicit NamedContextContainer(const Owner* owner) : owner_(owner), entries_() {}
    IHttpStoredContext* GetNamedContext(LPCWSTR szName) override;
    HRESULT SetNamedContext(IHttpStoredContext* ppStoredContext, LPCWSTR szName) override;
    void cleanup();

private:
    struct Entry {
        wchar_t* name;
        IHttpStoredContext* context;
    };
    const Owner* owner_;
    Vec<Entry> entries_;
};

// Memory for the module object: request memory, freed when the request ends.
class ModuleAllocator : public IModuleAllocator {
public:
    explicit ModuleAllocator(RequestState* rs) : rs_(rs) {}
    VOID* AllocateMemory(DWORD cbAllocation) override;

private:
    RequestState* rs_;
};

// Tracing: records QuickTrace strings and raised event names.
class TraceContext : public IHttpTraceContext {
public:
    TraceContext(const Owner* owner, DWORD activity) : owner_(owner), activity_()
    {
        activity_.Data1 = 0x51A70000u | activity;
    }
    HRESULT GetTraceConfiguration(HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration) override;
    HRESULT SetTraceConfiguration(HTTP_MODULE_ID moduleId, HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration, DWORD cHttpTraceConfiguration) override;
    HRESULT RaiseTraceEvent(HTTP_TRACE_EVENT* pTraceEvent) override;
    LPCGUID GetTraceActivityId() override;
    HRESULT QuickTrace(PCWSTR pszData1, PCWSTR pszData2, HRESULT hrLastError, UCHAR Level) override;

private:
    const Owner* owner_;
    GUID activity_;
};

// The completion handed to CHttpModule::OnAsyncCompletion after IHttpContext::PostCompletion.
class CompletionInfo : public IHttpCompletionInfo2 {
public:
    explicit CompletionInfo(const Owner* owner) : kind(0x434F4D50u), bytes(0), status(S_OK), operation(0), owner_(owner) {}
    DWORD GetCompletionBytes() const override;
    HRESULT GetCompletionStatus() const override;
    DWORD GetCompletedOperation() const override;

    unsigned kind;
    DWORD bytes;
    HRESULT status;
    DWORD operation;

private:
    const Owner* owner_;
};

// ---------------------------------------------------------------------------------------------
// Request-level event providers. One of each per request, reused by every notification.

class EventProvider : public IHttpEventProvider {
public:
    explicit EventProvider(RequestState* rs) : rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;

private:
    RequestState* rs_;
};

class AuthenticationProvider : public IAuthenticationProvider {
public:
    explicit AuthenticationProvider(RequestState* rs) : rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    VOID SetUser(IHttpUser* pUser) override;

private:
    RequestState* rs_;
};

class MapHandlerProvider : public IMapHandlerProvider {
public:
    explicit MapHandlerProvider(RequestState* rs) : rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    HRESULT SetScriptName(PCWSTR pszScriptName, DWORD cchScriptName) override;
    VOID SetScriptMap(IScriptMapInfo* pScriptMap) override;
    VOID SetFileInfo(IHttpFileInfo* pFileInfo) override;

private:
    RequestState* rs_;
};

class MapPathProvider : public IMapPathProvider {
public:
    explicit MapPathProvider(RequestState* rs) : url(0), path(0), path_len(0), rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    PCWSTR GetUrl() const override;
    PCWSTR GetPhysicalPath() const override;
    HRESULT SetPhysicalPath(PCWSTR pszPhysicalPath, DWORD cchPhysicalPath) override;

    const wchar_t* url;
    wchar_t* path;
    DWORD path_len;

private:
    RequestState* rs_;
};

class SendResponseProvider : public ISendResponseProvider {
public:
    explicit SendResponseProvider(RequestState* rs) : headers_being_sent(FALSE), flags(0), ready_to_log(FALSE), log_data(0), fields(), rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    BOOL GetHeadersBeingSent() const override;
    DWORD GetFlags() const override;
    VOID SetFlags(DWORD dwFlags) override;
    HTTP_LOG_DATA* GetLogData() const override;
    HRESULT SetLogData(HTTP_LOG_DATA* pLogData) override;
    BOOL GetReadyToLogData() const override;

    BOOL headers_being_sent;
    DWORD flags;
    BOOL ready_to_log;
    HTTP_LOG_DATA* log_data;      // what GetLogData returns: &fields on the final send
    HTTP_LOG_FIELDS_DATA fields;

private:
    RequestState* rs_;
};

class ReadEntityProvider : public IReadEntityProvider {
public:
    explicit ReadEntityProvider(RequestState* rs) : buffer(0), data(0), size(0), rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    VOID GetEntity(PVOID* ppBuffer, DWORD* pcbData, DWORD* pcbBuffer) override;
    VOID SetEntity(PVOID pBuffer, DWORD cbData, DWORD cbBuffer) override;

    void* buffer;
    DWORD data;
    DWORD size;

private:
    RequestState* rs_;
};

class PreBeginRequestProvider : public IPreBeginRequestProvider {
public:
    explicit PreBeginRequestProvider(RequestState* rs) : rs_(rs) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    IHttpContext* GetHttpContext() override;

private:
    RequestState* rs_;
};

// ---------------------------------------------------------------------------------------------
// Global event providers (no request).

class ApplicationProvider : public IHttpApplicationProvider {
public:
    VOID SetErrorStatus(HRESULT hrError) override;
    IHttpApplication* GetApplication() override;
};

class ResolveModulesProvider : public IHttpApplicationResolveModulesProvider {
public:
    VOID SetErrorStatus(HRESULT hrError) override;
    IHttpApplication* GetApplication() override;
    HRESULT RegisterModule(HTTP_MODULE_ID parentModuleId, IHttpModuleFactory* pModuleFactory, PCWSTR pszModuleName, PCWSTR pszModuleType, PCWSTR pszModulePreCondition, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications) override;
    HRESULT SetPriorityForRequestNotification(PCWSTR pszModuleName, DWORD dwRequestNotification, PCWSTR pszPriorityAlias) override;
};

class StopListeningProvider : public IGlobalStopListeningProvider {
public:
    VOID SetErrorStatus(HRESULT hrError) override;
    BOOL DrainRequestsGracefully() const override;
};

class ConfigurationChangeProvider : public IGlobalConfigurationChangeProvider {
public:
    explicit ConfigurationChangeProvider(const wchar_t* path) : path_(path) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    PCWSTR GetChangePath() const override;

private:
    const wchar_t* path_;
};

class FileChangeProvider : public IGlobalFileChangeProvider {
public:
    explicit FileChangeProvider(const wchar_t* path) : path_(path) {}
    VOID SetErrorStatus(HRESULT hrError) override;
    PCWSTR GetFileName() const override;
    IHttpFileMonitor* GetFileMonitor() override;

private:
    const wchar_t* path_;
};

class ThreadCleanupProvider : public IGlobalThreadCleanupProvider {
public:
    VOID SetErrorStatus(HRESULT hrError) override;
    IHttpApplication* GetApplication() override;
};

#endif
