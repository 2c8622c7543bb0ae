// server.h: the process-wide objects: IHttpModuleRegistrationInfo2 (what RegisterModule gets),
// IHttpServer3 (the server), the site and the application.
#ifndef IIS_SIMULATOR_SERVER_H
#define IIS_SIMULATOR_SERVER_H

#include "context.h"

class RegistrationInfo : public IHttpModuleRegistrationInfo2 {
public:
    RegistrationInfo() : tag(TAG_REGISTRATION), in_register(false) {}
    PCWSTR GetName() const override;
    HTTP_MODULE_ID GetId() const override;
    HRESULT SetRequestNotifications(IHttpModuleFactory* pModuleFactory, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications) override;
    HRESULT SetGlobalNotifications(CGlobalModule* pGlobalModule, DWORD dwGlobalNotifications) override;
    HRESULT SetPriorityForRequestNotification(DWORD dwRequestNotification, PCWSTR pszPriority) override;
    HRESULT SetPriorityForGlobalNotification(DWORD dwGlobalNotification, PCWSTR pszPriority) override;
    HRESULT SetPriorityForPostRequestNotification(DWORD dwPostRequestNotification, PCWSTR pszPriority) override;

    unsigned tag;
    bool in_register;           // between the call to RegisterModule and its return
};

class Site : public IHttpSite {
public:
    Site() : container(0, "site") {}
    DWORD GetSiteId() const override;
    PCWSTR GetSiteName() const override;
    IHttpModuleContextContainer* GetModuleContextContainer() override;
    IHttpPerfCounterInfo* GetPerfCounterInfo() override;

    ModuleContextContainer container;
};

class Application : public IHttpApplication2 {
public:
    Application() : tag(TAG_APPLICATION), container(0, "application") {}
    PCWSTR GetApplicationPhysicalPath() const override;
    PCWSTR GetApplicationId() const override;
    PCWSTR GetAppConfigPath() const override;
    IHttpModuleContextContainer* GetModuleContextContainer() override;
    VOID BeginApplicationWarmup() override;
    VOID EndApplicationWarmup() override;
    BOOL QueryIsWarmingUp() override;

    unsigned tag;
    ModuleContextContainer container;
};

class Server : public IHttpServer3 {
public:
    Server() : tag(TAG_SERVER) {}
    BOOL IsCommandLineLaunch() const override;
    PCWSTR GetAppPoolName() const override;
    HRESULT AssociateWithThreadPool(HANDLE hHandle, LPOVERLAPPED_COMPLETION_ROUTINE completionRoutine) override;
    VOID IncrementThreadCount() override;
    VOID DecrementThreadCount() override;
    VOID ReportUnhealthy(PCWSTR pszReasonString, HRESULT hrReason) override;
    VOID RecycleProcess(PCWSTR pszReason) override;
    IAppHostAdminManager* GetAdminManager() const override;
    HRESULT GetFileInfo(PCWSTR pszPhysicalPath, HANDLE hUserToken, PSID pSid, PCWSTR pszChangeNotificationPath, HANDLE hChangeNotificationToken, BOOL fCache, IHttpFileInfo** ppFileInfo, IHttpTraceContext* pHttpTraceContext) override;
    HRESULT FlushKernelCache(PCWSTR pszUrl) override;
    HRESULT DoCacheOperation(CACHE_OPERATION cacheOperation, IHttpCacheKey* pCacheKey, IHttpCacheSpecificData** ppCacheSpecificData, IHttpTraceContext* pHttpTraceContext) override;
    GLOBAL_NOTIFICATION_STATUS NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput) override;
    IHttpPerfCounterInfo* GetPerfCounterInfo() override;
    VOID RecycleApplication(PCWSTR pszAppConfigPath) override;
    VOID NotifyConfigurationChange(PCWSTR pszPath) override;
    VOID NotifyFileChange(PCWSTR pszFileName) override;
    IDispensedHttpModuleContextContainer* DispenseContainer() override;
    HRESULT AddFragmentToCache(HTTP_DATA_CHUNK* pDataChunk, PCWSTR pszFragmentName) override;
    HRESULT ReadFragmentFromCache(PCWSTR pszFragmentName, BYTE* pvBuffer, DWORD cbSize, DWORD* pcbCopied) override;
    HRESULT RemoveFragmentFromCache(PCWSTR pszFragmentName) override;
    HRESULT GetWorkerProcessSettings(IWpfSettings** ppWorkerProcessSettings) override;
    HRESULT GetProtocolManagerCustomInterface(PCWSTR pProtocolManagerDll, PCWSTR pProtocolManagerDllInitFunction, DWORD dwCustomInterfaceId, PVOID* ppCustomInterface) override;
    BOOL SatisfiesPrecondition(PCWSTR pszPrecondition, BOOL* pfUnknownPrecondition) const override;
    IHttpTraceContext* GetTraceContext() const override;
    HRESULT RegisterFileChangeMonitor(PCWSTR pszPath, HANDLE hToken, IHttpFileMonitor** ppFileMonitor) override;
    HRESULT GetExtendedInterface(HTTP_SERVER_INTERFACE_VERSION version, PVOID* ppInterface) override;
    HRESULT GetToken(PCWSTR pszUserName, PCWSTR pszPassword, DWORD dwLogonMethod, IHttpTokenEntry** ppTokenEntry, PCWSTR pszDefaultDomain, PSOCKADDR pSockAddr, IHttpTraceContext* pHttpTraceContext) override;
    PCWSTR GetAppPoolConfigFile(DWORD* pcchConfigFilePath) const override;
    HRESULT GetExtendedInterface(const GUID& Version1, PVOID pInput, const GUID& Version2, PVOID* ppOutput) override;
    HRESULT GetMetadata(PCWSTR pszSiteName, PCWSTR pszUrl, IReferencedMetadataInfo** ppMetadataInfo) override;
    HRESULT GetWorkerProcessFramework(IWorkerProcessFramework** ppWorkerProcessFramework) override;
    HRESULT QueryRequestProperty(HTTP_OPAQUE_ID id, HTTP_REQUEST_PROPERTY propertyId, PVOID pQualifier, ULONG qualifierSize, PVOID pOutput, ULONG outputBufferSize, PULONG pcbBytesReturned, LPOVERLAPPED pOverlapped) override;

    unsigned tag;
};

#endif
