// server.cpp: registration info, the server (IHttpServer3, including the uuid-based
// IHttpServer2::GetExtendedInterface), the site and the application.
#include "server.h"

// ---------------------------------------------------------------------------------------------
// IHttpModuleRegistrationInfo2.

PCWSTR RegistrationInfo::GetName() const
{
    track(0, "IHttpModuleRegistrationInfo::GetName");
    TX("call IHttpModuleRegistrationInfo::GetName -> %s", qw(g.module_name));
    return g.module_name;
}

HTTP_MODULE_ID RegistrationInfo::GetId() const
{
    track(0, "IHttpModuleRegistrationInfo::GetId");
    TX("call IHttpModuleRegistrationInfo::GetId -> module id");
    // Any unique non-NULL value does; the registration object is one per module.
    return const_cast<RegistrationInfo*>(this);
}

HRESULT RegistrationInfo::SetRequestNotifications(IHttpModuleFactory* pModuleFactory, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications)
{
    track(0, "IHttpModuleRegistrationInfo::SetRequestNotifications");
    HRESULT hr = S_OK;
    if (!pModuleFactory) {
        hr = E_INVALIDARG;
    } else {
        if (!g.reg.factory) {
            g.st.factories_registered++;
        }
        g.reg.factory = pModuleFactory;
        g.reg.request_mask = dwRequestNotifications;
        g.reg.post_mask = dwPostRequestNotifications;
    }
    TX("call IHttpModuleRegistrationInfo::SetRequestNotifications(request=%s, post=%s) -> %s",
       request_mask_names(dwRequestNotifications), request_mask_names(dwPostRequestNotifications), hr_name(hr));
    return hr;
}

HRESULT RegistrationInfo::SetGlobalNotifications(CGlobalModule* pGlobalModule, DWORD dwGlobalNotifications)
{
    track(0, "IHttpModuleRegistrationInfo::SetGlobalNotifications");
    HRESULT hr = S_OK;
    if (!pGlobalModule) {
        hr = E_INVALIDARG;
    } else {
        if (!g.reg.global) {
            g.st.globals_registered++;
        }
        g.reg.global = pGlobalModule;
        g.reg.global_mask = dwGlobalNotifications;
    }
    TX("call IHttpModuleRegistrationInfo::SetGlobalNotifications(global=%s) -> %s", global_mask_names(dwGlobalNotifications), hr_name(hr));
    return hr;
}

// IIS accepts the PRIORITY_ALIAS_* strings.
static bool valid_priority(PCWSTR p)
{
    return p && (wieq(p, PRIORITY_ALIAS_FIRST) || wieq(p, PRIORITY_ALIAS_HIGH) || wieq(p, PRIORITY_ALIAS_MEDIUM) ||
                 wieq(p, PRIORITY_ALIAS_LOW) || wieq(p, PRIORITY_ALIAS_LAST));
}

HRESULT RegistrationInfo::SetPriorityForRequestNotification(DWORD dwRequestNotification, PCWSTR pszPriority)
{
    track(0, "IHttpModuleRegistrationInfo::SetPriorityForRequestNotification");
    HRESULT hr = valid_priority(pszPriority) ? S_OK : E_INVALIDARG;
    TX("call IHttpModuleRegistrationInfo::SetPriorityForRequestNotification(%s, %s) -> %s",
       request_mask_names(dwRequestNotification), qw(pszPriority), hr_name(hr));
    return hr;
}

HRESULT RegistrationInfo::SetPriorityForGlobalNotification(DWORD dwGlobalNotification, PCWSTR pszPriority)
{
    track(0, "IHttpModuleRegistrationInfo::SetPriorityForGlobalNotification");
    HRESULT hr = valid_priority(pszPriority) ? S_OK : E_INVALIDARG;
    TX("call IHttpModuleRegistrationInfo::SetPriorityForGlobalNotification(%s, %s) -> %s",
       global_mask_names(dwGlobalNotification), qw(pszPriority), hr_name(hr));
    return hr;
}

HRESULT RegistrationInfo::SetPriorityForPostRequestNotification(DWORD dwPostRequestNotification, PCWSTR pszPriority)
{
    track(0, "IHttpModuleRegistrationInfo2::SetPriorityForPostRequestNotification");
    HRESULT hr = valid_priority(pszPriority) ? S_OK : E_INVALIDARG;
    TX("call IHttpModuleRegistrationInfo2::SetPriorityForPostRequestNotification(%s, %s) -> %s",
       request_mask_names(dwPostRequestNotification), qw(pszPriority), hr_name(hr));
    return hr;
}

// ---------------------------------------------------------------------------------------------
// Site and application.

DWORD Site::GetSiteId() const
{
    track(0, "IHttpSite::GetSiteId");
    TX("call IHttpSite::GetSiteId -> 1");
    return 1;
}

PCWSTR Site::GetSiteName() const
{
    track(0, "IHttpSite::GetSiteName");
    TX("call IHttpSite::GetSiteName -> \"Default Web Site\"");
    return L"Default Web Site";
}

IHttpModuleContextContainer* Site::GetModuleContextContainer()
{
    track(0, "IHttpSite::GetModuleContextContainer");
    TX("call IHttpSite::GetModuleContextContainer -> container");
    return &container;
}

IHttpPerfCounterInfo* Site::GetPerfCounterInfo()
{
    return static_cast<IHttpPerfCounterInfo*>(not_implemented_null(0, "IHttpSite::GetPerfCounterInfo"));
}

PCWSTR Application::GetApplicationPhysicalPath() const
{
    track(0, "IHttpApplication::GetApplicationPhysicalPath");
    TX("call IHttpApplication::GetApplicationPhysicalPath -> %s", qw(SIM_WWWROOT L"\\"));
    return SIM_WWWROOT L"\\";
}

PCWSTR Application::GetApplicationId() const
{
    track(0, "IHttpApplication::GetApplicationId");
    TX("call IHttpApplication::GetApplicationId -> \"/LM/W3SVC/1/ROOT\"");
    return L"/LM/W3SVC/1/ROOT";
}

PCWSTR Application::GetAppConfigPath() const
{
    track(0, "IHttpApplication::GetAppConfigPath");
    TX("call IHttpApplication::GetAppConfigPath -> \"MACHINE/WEBROOT/APPHOST/Default Web Site\"");
    return L"MACHINE/WEBROOT/APPHOST/Default Web Site";
}

IHttpModuleContextContainer* Application::GetModuleContextContainer()
{
    track(0, "IHttpApplication::GetModuleContextContainer");
    TX("call IHttpApplication::GetModuleContextContainer -> container");
    return &container;
}

VOID Application::BeginApplicationWarmup()
{
    track(0, "IHttpApplication2::BeginApplicationWarmup");
    TX("call IHttpApplication2::BeginApplicationWarmup");
}

VOID Application::EndApplicationWarmup()
{
    track(0, "IHttpApplication2::EndApplicationWarmup");
    TX("call IHttpApplication2::EndApplicationWarmup");
}

BOOL Application::QueryIsWarmingUp()
{
    track(0, "IHttpApplication2::QueryIsWarmingUp");
    TX("call IHttpApplication2::QueryIsWarmingUp -> FALSE");
    return FALSE;
}

// ---------------------------------------------------------------------------------------------
// The server.

BOOL Server::IsCommandLineLaunch() const
{
    track(0, "IHttpServer::IsCommandLineLaunch");
    // w3wp.exe under WAS, not IIS Express from a command line.
    TX("call IHttpServer::IsCommandLineLaunch -> FALSE");
    return FALSE;
}

PCWSTR Server::GetAppPoolName() const
{
    track(0, "IHttpServer::GetAppPoolName");
    TX("call IHttpServer::GetAppPoolName -> \"DefaultAppPool\"");
    return L"DefaultAppPool";
}

HRESULT Server::AssociateWithThreadPool(HANDLE hHandle, LPOVERLAPPED_COMPLETION_ROUTINE completionRoutine)
{
    return not_implemented(0, "IHttpServer::AssociateWithThreadPool");
}

VOID Server::IncrementThreadCount()
{
    not_implemented_void(0, "IHttpServer::IncrementThreadCount");
}

VOID Server::DecrementThreadCount()
{
    not_implemented_void(0, "IHttpServer::DecrementThreadCount");
}

VOID Server::ReportUnhealthy(PCWSTR pszReasonString, HRESULT hrReason)
{
    track(0, "IHttpServer::ReportUnhealthy");
    TX("call IHttpServer::ReportUnhealthy(%s, %s)", qw(pszReasonString), hr_name(hrReason));
}

VOID Server::RecycleProcess(PCWSTR pszReason)
{
    track(0, "IHttpServer::RecycleProcess");
    TX("call IHttpServer::RecycleProcess(%s)", qw(pszReason));
}

IAppHostAdminManager* Server::GetAdminManager() const
{
    return static_cast<IAppHostAdminManager*>(not_implemented_null(0, "IHttpServer::GetAdminManager"));
}

HRESULT Server::GetFileInfo(PCWSTR pszPhysicalPath, HANDLE hUserToken, PSID pSid, PCWSTR pszChangeNotificationPath, HANDLE hChangeNotificationToken, BOOL fCache, IHttpFileInfo** ppFileInfo, IHttpTraceContext* pHttpTraceContext)
{
    return not_implemented(0, "IHttpServer::GetFileInfo");
}

HRESULT Server::FlushKernelCache(PCWSTR pszUrl)
{
    return not_implemented(0, "IHttpServer::FlushKernelCache");
}

HRESULT Server::DoCacheOperation(CACHE_OPERATION cacheOperation, IHttpCacheKey* pCacheKey, IHttpCacheSpecificData** ppCacheSpecificData, IHttpTraceContext* pHttpTraceContext)
{
    return not_implemented(0, "IHttpServer::DoCacheOperation");
}

GLOBAL_NOTIFICATION_STATUS Server::NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput)
{
    not_implemented_void(0, "IHttpServer::NotifyCustomNotification");
    return GL_NOTIFICATION_CONTINUE;
}

IHttpPerfCounterInfo* Server::GetPerfCounterInfo()
{
    return static_cast<IHttpPerfCounterInfo*>(not_implemented_null(0, "IHttpServer::GetPerfCounterInfo"));
}

VOID Server::RecycleApplication(PCWSTR pszAppConfigPath)
{
    track(0, "IHttpServer::RecycleApplication");
    TX("call IHttpServer::RecycleApplication(%s)", qw(pszAppConfigPath));
}

VOID Server::NotifyConfigurationChange(PCWSTR pszPath)
{
    not_implemented_void(0, "IHttpServer::NotifyConfigurationChange");
}

VOID Server::NotifyFileChange(PCWSTR pszFileName)
{
    not_implemented_void(0, "IHttpServer::NotifyFileChange");
}

IDispensedHttpModuleContextContainer* Server::DispenseContainer()
{
    track(0, "IHttpServer::DispenseContainer");
    TX("call IHttpServer::DispenseContainer -> container");
    return new DispensedContainer();
}

HRESULT Server::AddFragmentToCache(HTTP_DATA_CHUNK* pDataChunk, PCWSTR pszFragmentName)
{
    return not_implemented(0, "IHttpServer::AddFragmentToCache");
}

HRESULT Server::ReadFragmentFromCache(PCWSTR pszFragmentName, BYTE* pvBuffer, DWORD cbSize, DWORD* pcbCopied)
{
    return not_implemented(0, "IHttpServer::ReadFragmentFromCache");
}

HRESULT Server::RemoveFragmentFromCache(PCWSTR pszFragmentName)
{
    return not_implemented(0, "IHttpServer::RemoveFragmentFromCache");
}

HRESULT Server::GetWorkerProcessSettings(IWpfSettings** ppWorkerProcessSettings)
{
    return not_implemented(0, "IHttpServer::GetWorkerProcessSettings");
}

HRESULT Server::GetProtocolManagerCustomInterface(PCWSTR pProtocolManagerDll, PCWSTR pProtocolManagerDllInitFunction, DWORD dwCustomInterfaceId, PVOID* ppCustomInterface)
{
    return not_implemented(0, "IHttpServer::GetProtocolManagerCustomInterface");
}

// Evaluates a module precondition ("bitness64,integratedMode"): every comma-separated term
// must hold. The simulator is a 64-bit (or 32-bit) integrated-mode worker without .NET.
BOOL Server::SatisfiesPrecondition(PCWSTR pszPrecondition, BOOL* pfUnknownPrecondition) const
{
    track(0, "IHttpServer::SatisfiesPrecondition");
    BOOL ok = TRUE;
    BOOL unknown = FALSE;
    const wchar_t* p = pszPrecondition ? pszPrecondition : L"";
    while (*p) {
        while (*p == L' ' || *p == L',') {
            p++;
        }
        wchar_t term[64];
        size_t n = 0;
        while (*p && *p != L',' && n < 63) {
            term[n++] = *p++;
        }
        while (n && term[n - 1] == L' ') {
            n--;
        }
        term[n] = 0;
        if (!n) {
            continue;
        }
#ifdef _WIN64
        const bool is64 = true;
#else
        const bool is64 = false;
#endif
        if (wieq(term, L"bitness64")) {
            ok = ok && is64;
        } else if (wieq(term, L"bitness32")) {
            ok = ok && !is64;
        } else if (wieq(term, L"integratedMode")) {
        } else if (wieq(term, L"classicMode") || wieq(term, L"managedHandler") ||
                   wieq(term, L"runtimeVersionv2.0") || wieq(term, L"runtimeVersionv4.0")) {
            ok = FALSE;
        } else {
            unknown = TRUE;
            ok = FALSE;
        }
    }
    if (pfUnknownPrecondition) {
        *pfUnknownPrecondition = unknown;
    }
    TX("call IHttpServer::SatisfiesPrecondition(%s) -> %s%s", qw(pszPrecondition), bool_name(ok), unknown ? " (unknown precondition)" : "");
    return ok;
}

IHttpTraceContext* Server::GetTraceContext() const
{
    track(0, "IHttpServer::GetTraceContext");
    TX("call IHttpServer::GetTraceContext -> trace context");
    return g.server_trace;
}

HRESULT Server::RegisterFileChangeMonitor(PCWSTR pszPath, HANDLE hToken, IHttpFileMonitor** ppFileMonitor)
{
    return not_implemented(0, "IHttpServer::RegisterFileChangeMonitor");
}

HRESULT Server::GetExtendedInterface(HTTP_SERVER_INTERFACE_VERSION version, PVOID* ppInterface)
{
    track(0, "IHttpServer::GetExtendedInterface");
    HRESULT hr = S_OK;
    const char* name = "?";
    if (!ppInterface) {
        hr = E_INVALIDARG;
    } else if (version == HTTP_SERVER_INTERFACE_V2) {
        *ppInterface = static_cast<IHttpServer2*>(this);
        name = "HTTP_SERVER_INTERFACE_V2";
    } else if (version == HTTP_SERVER_INTERFACE_V3) {
        *ppInterface = static_cast<IHttpServer3*>(this);
        name = "HTTP_SERVER_INTERFACE_V3";
    } else {
        *ppInterface = 0;
        hr = E_NOINTERFACE;
    }
    TX("call IHttpServer::GetExtendedInterface(%s) -> %s", name, hr_name(hr));
    return hr;
}

HRESULT Server::GetToken(PCWSTR pszUserName, PCWSTR pszPassword, DWORD dwLogonMethod, IHttpTokenEntry** ppTokenEntry, PCWSTR pszDefaultDomain, PSOCKADDR pSockAddr, IHttpTraceContext* pHttpTraceContext)
{
    return not_implemented(0, "IHttpServer2::GetToken");
}

PCWSTR Server::GetAppPoolConfigFile(DWORD* pcchConfigFilePath) const
{
    track(0, "IHttpServer2::GetAppPoolConfigFile");
    static const wchar_t path[] = L"C:\\inetpub\\temp\\apppools\\DefaultAppPool\\DefaultAppPool.config";
    if (pcchConfigFilePath) {
        *pcchConfigFilePath = (DWORD)(sizeof path / sizeof path[0] - 1);
    }
    TX("call IHttpServer2::GetAppPoolConfigFile -> %s", qw(path));
    return path;
}

// The interface families whose objects the simulator implements at their newest version.
// Every class of a family derives in a single chain, so one object answers to every version at
// the same address; the tag after the vfptr proves the object is the simulator's.
struct Family {
    const GUID* versions[4];
    const char* names[4];
    unsigned count;
    unsigned tag;
};

static bool find_in(const Family* families, unsigned nf, const GUID& id, unsigned* family, unsigned* index)
{
    for (unsigned f = 0; f < nf; f++) {
        for (unsigned i = 0; i < families[f].count; i++) {
            if (memcmp(families[f].versions[i], &id, sizeof(GUID)) == 0) {
                *family = f;
                *index = i;
                return true;
            }
        }
    }
    return false;
}

static const char* guid_text(const GUID& id)
{
    static char b[2][40];
    static unsigned which;
    char* out = b[which++ % 2];
    snprintf(out, 40, "{%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", (unsigned long)id.Data1, id.Data2, id.Data3,
             id.Data4[0], id.Data4[1], id.Data4[2], id.Data4[3], id.Data4[4], id.Data4[5], id.Data4[6], id.Data4[7]);
    return out;
}

HRESULT Server::GetExtendedInterface(const GUID& Version1, PVOID pInput, const GUID& Version2, PVOID* ppOutput)
{
    track(0, "IHttpServer2::GetExtendedInterface");
    // Built per call: a static table of __uuidof addresses would need a global constructor.
    const Family families[] = {
        {{&__uuidof(IHttpContext), &__uuidof(IHttpContext2), &__uuidof(IHttpContext3), &__uuidof(IHttpContext4)},
         {"IHttpContext", "IHttpContext2", "IHttpContext3", "IHttpContext4"}, 4, TAG_CONTEXT},
        {{&__uuidof(IHttpRequest), &__uuidof(IHttpRequest2), &__uuidof(IHttpRequest3), &__uuidof(IHttpRequest4)},
         {"IHttpRequest", "IHttpRequest2", "IHttpRequest3", "IHttpRequest4"}, 4, TAG_REQUEST},
        {{&__uuidof(IHttpResponse), &__uuidof(IHttpResponse2), &__uuidof(IHttpResponse3), &__uuidof(IHttpResponse4)},
         {"IHttpResponse", "IHttpResponse2", "IHttpResponse3", "IHttpResponse4"}, 4, TAG_RESPONSE},
        {{&__uuidof(IHttpServer), &__uuidof(IHttpServer2), &__uuidof(IHttpServer3)},
         {"IHttpServer", "IHttpServer2", "IHttpServer3"}, 3, TAG_SERVER},
        {{&__uuidof(IHttpApplication), &__uuidof(IHttpApplication2)}, {"IHttpApplication", "IHttpApplication2"}, 2, TAG_APPLICATION},
        {{&__uuidof(IHttpCachePolicy), &__uuidof(IHttpCachePolicy2)}, {"IHttpCachePolicy", "IHttpCachePolicy2"}, 2, TAG_CACHE_POLICY},
        {{&__uuidof(IHttpModuleRegistrationInfo), &__uuidof(IHttpModuleRegistrationInfo2)},
         {"IHttpModuleRegistrationInfo", "IHttpModuleRegistrationInfo2"}, 2, TAG_REGISTRATION},
        {{&__uuidof(IHttpCompletionInfo), &__uuidof(IHttpCompletionInfo2)}, {"IHttpCompletionInfo", "IHttpCompletionInfo2"}, 2, TAG_COMPLETION},
    };
    const unsigned nf = sizeof families / sizeof families[0];
    unsigned f1 = 0, i1 = 0, f2 = 0, i2 = 0;
    bool known1 = find_in(families, nf, Version1, &f1, &i1);
    bool known2 = find_in(families, nf, Version2, &f2, &i2);
    const char* n1 = known1 ? families[f1].names[i1] : guid_text(Version1);
    const char* n2 = known2 ? families[f2].names[i2] : guid_text(Version2);
    HRESULT hr = S_OK;
    if (!ppOutput) {
        hr = E_INVALIDARG;
    } else {
        *ppOutput = 0;
        if (!known1 || !known2 || f1 != f2) {
            hr = E_NOINTERFACE;
        } else if (!pInput || *reinterpret_cast<const unsigned*>(static_cast<const char*>(pInput) + sizeof(void*)) != families[f1].tag) {
            // Not an object of the type Version1 names (or not the simulator's).
            hr = E_INVALIDARG;
        } else {
            *ppOutput = pInput;
        }
    }
    TX("call IHttpServer2::GetExtendedInterface(%s -> %s) -> %s", n1, n2, hr_name(hr));
    return hr;
}

HRESULT Server::GetMetadata(PCWSTR pszSiteName, PCWSTR pszUrl, IReferencedMetadataInfo** ppMetadataInfo)
{
    return not_implemented(0, "IHttpServer2::GetMetadata");
}

HRESULT Server::GetWorkerProcessFramework(IWorkerProcessFramework** ppWorkerProcessFramework)
{
    return not_implemented(0, "IHttpServer2::GetWorkerProcessFramework");
}

HRESULT Server::QueryRequestProperty(HTTP_OPAQUE_ID id, HTTP_REQUEST_PROPERTY propertyId, PVOID pQualifier, ULONG qualifierSize, PVOID pOutput, ULONG outputBufferSize, PULONG pcbBytesReturned, LPOVERLAPPED pOverlapped)
{
    return not_implemented(0, "IHttpServer3::QueryRequestProperty");
}
