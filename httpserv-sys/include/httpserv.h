// httpserv-rs: the IIS native-module ABI (httpserv.h), written for this project.
//
// Every class and interface of the Windows SDK's httpserv.h, at the level of the current SDK
// (IIS 7.0 through IIS 10.0), with its constants, enums and uuids. The C++ declaration order is
// the ABI: MSVC numbers vtable slots from it. So the order here follows the SDK exactly, and the
// layout tests (httpserv-sys/tests) check every slot against what clang computes for the MSVC
// targets. Only declarations matter here; SAL annotations are left out. Default arguments are
// kept because C++ callers (the simulator, the benchmark module) rely on them.
//
// It compiles for x86_64-pc-windows-msvc and i686-pc-windows-msvc against the Windows SDK or
// against mingw-w64's windows.h and http.h (see the compatibility block below).

#ifndef HTTPSERV_RS_HTTPSERV_H
#define HTTPSERV_RS_HTTPSERV_H

#if !defined(_WIN64) && !defined(_WIN32)
#error "httpserv.h: IIS modules are Windows code; compile for a Windows target"
#endif

#include <winsock2.h>
#include <windows.h>
#include <http.h>

#if defined(__MINGW64_VERSION_MAJOR)
// mingw-w64 ships neither ahadmin.h nor the newest HTTP Server API enums. The enums are passed
// as 32 bits, so a declaration of the same shape suffices. Of ahadmin.h, the COM interfaces a
// module reads its configuration with follow (IUnknown first; STDMETHODCALLTYPE is __stdcall
// on x86, the system convention elsewhere), methods in the order of the Windows SDK's
// ahadmin.h/ahadmin.idl, which is their vtable order. Interfaces they only pass by pointer
// (schemas, the config manager) stay declared only.
class IAppHostElementSchema;
class IAppHostMethodCollection;
class IAppHostPropertySchema;
class IAppHostPropertyException;
class IAppHostCollectionSchema;
class IAppHostConfigManager;
class IAppHostElement;
class IAppHostProperty;
class IAppHostPropertyCollection;
class IAppHostElementCollection;
class IAppHostChildElementCollection;

class __declspec(uuid("4dfa1df3-8900-4bc7-bbb5-d1a458c52410")) IAppHostConfigException : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_LineNumber(ULONG* pcLineNumber) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_FileName(BSTR* pbstrFileName) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_ConfigPath(BSTR* pbstrConfigPath) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_ErrorLine(BSTR* pbstrErrorLine) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_PreErrorLine(BSTR* pbstrPreErrorLine) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_PostErrorLine(BSTR* pbstrPostErrorLine) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_ErrorString(BSTR* pbstrErrorString) = 0;
};

class __declspec(uuid("ed35f7a1-5024-4e7b-a44d-07ddaf4b524d")) IAppHostProperty : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_Name(BSTR* pbstrName) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Value(VARIANT* pVariant) = 0;
    virtual HRESULT STDMETHODCALLTYPE put_Value(VARIANT value) = 0;
    virtual HRESULT STDMETHODCALLTYPE Clear() = 0;
    virtual HRESULT STDMETHODCALLTYPE get_StringValue(BSTR* pbstrValue) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Exception(IAppHostPropertyException** ppException) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetMetadata(BSTR bstrMetadataType, VARIANT* pValue) = 0;
    virtual HRESULT STDMETHODCALLTYPE SetMetadata(BSTR bstrMetadataType, VARIANT value) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Schema(IAppHostPropertySchema** ppSchema) = 0;
};

class __declspec(uuid("0191775e-bcff-445a-b4f4-3bdda54e2816")) IAppHostPropertyCollection : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_Count(DWORD* pcCount) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Item(VARIANT cIndex, IAppHostProperty** ppProperty) = 0;
};

class __declspec(uuid("c8550bff-5281-4b1e-ac34-99b6fa38464d")) IAppHostElementCollection : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_Count(DWORD* pcElementCount) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Item(VARIANT cIndex, IAppHostElement** ppElement) = 0;
    virtual HRESULT STDMETHODCALLTYPE AddElement(IAppHostElement* pElement, INT cPosition = -1) = 0;
    virtual HRESULT STDMETHODCALLTYPE DeleteElement(VARIANT cIndex) = 0;
    virtual HRESULT STDMETHODCALLTYPE Clear() = 0;
    virtual HRESULT STDMETHODCALLTYPE CreateNewElement(BSTR bstrElementName, IAppHostElement** ppElement) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Schema(IAppHostCollectionSchema** ppSchema) = 0;
};

class __declspec(uuid("08a90f5f-0702-48d6-b45f-02a9885a9768")) IAppHostChildElementCollection : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_Count(DWORD* pcCount) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Item(VARIANT cIndex, IAppHostElement** ppElement) = 0;
};

class __declspec(uuid("64ff8ccc-b287-4dae-b08a-a72cbf45f453")) IAppHostElement : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE get_Name(BSTR* pbstrName) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Collection(IAppHostElementCollection** ppCollection) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Properties(IAppHostPropertyCollection** ppProperties) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_ChildElements(IAppHostChildElementCollection** ppElements) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetMetadata(BSTR bstrMetadataType, VARIANT* pValue) = 0;
    virtual HRESULT STDMETHODCALLTYPE SetMetadata(BSTR bstrMetadataType, VARIANT value) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Schema(IAppHostElementSchema** ppSchema) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetElementByName(BSTR bstrSubName, IAppHostElement** ppElement) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetPropertyByName(BSTR bstrSubName, IAppHostProperty** ppProperty) = 0;
    virtual HRESULT STDMETHODCALLTYPE Clear() = 0;
    virtual HRESULT STDMETHODCALLTYPE get_Methods(IAppHostMethodCollection** ppMethods) = 0;
};

class __declspec(uuid("9be77978-73ed-4a9a-87fd-13f09fec1b13")) IAppHostAdminManager : public IUnknown {
public:
    virtual HRESULT STDMETHODCALLTYPE GetAdminSection(BSTR bstrSectionName, BSTR bstrPath, IAppHostElement** ppAdminSection) = 0;
    virtual HRESULT STDMETHODCALLTYPE GetMetadata(BSTR bstrMetadataType, VARIANT* pValue) = 0;
    virtual HRESULT STDMETHODCALLTYPE SetMetadata(BSTR bstrMetadataType, VARIANT value) = 0;
    virtual HRESULT STDMETHODCALLTYPE get_ConfigManager(IAppHostConfigManager** ppConfigManager) = 0;
};

typedef enum _HTTP_REQUEST_PROPERTY {
    HttpRequestPropertyIsb,
    HttpRequestPropertyTcpInfoV0,
    HttpRequestPropertyQuicStats,
    HttpRequestPropertyTcpInfoV1,
    HttpRequestPropertySni,
    HttpRequestPropertyStreamError,
    HttpRequestPropertyWskApiTimings,
    HttpRequestPropertyQuicApiTimings,
    HttpRequestPropertyQuicStatsV2,
    HttpRequestPropertyQuicStreamStats,
    HttpRequestPropertyTcpInfoV2,
    HttpRequestPropertyTlsClientHello,
    HttpRequestPropertyTransportQualityWindow,
    HttpRequestPropertyDscpTag
} HTTP_REQUEST_PROPERTY, *PHTTP_REQUEST_PROPERTY;
#else
#include <ahadmin.h>
#endif

// ---------------------------------------------------------------------------------------------
// Request notifications: bits of the dwRequestNotifications mask given to
// IHttpModuleRegistrationInfo::SetRequestNotifications. The deterministic ones run in this order
// for every request; the non-deterministic ones run when their event happens.
#define RQ_BEGIN_REQUEST                    0x00000001
#define RQ_AUTHENTICATE_REQUEST             0x00000002
#define RQ_AUTHORIZE_REQUEST                0x00000004
#define RQ_RESOLVE_REQUEST_CACHE            0x00000008
#define RQ_MAP_REQUEST_HANDLER              0x00000010
#define RQ_ACQUIRE_REQUEST_STATE            0x00000020
#define RQ_PRE_EXECUTE_REQUEST_HANDLER      0x00000040
#define RQ_EXECUTE_REQUEST_HANDLER          0x00000080
#define RQ_RELEASE_REQUEST_STATE            0x00000100
#define RQ_UPDATE_REQUEST_CACHE             0x00000200
#define RQ_LOG_REQUEST                      0x00000400
#define RQ_END_REQUEST                      0x00000800
#define RQ_SEND_RESPONSE_STATUS_AND_HEADERS 0x08000000
#define RQ_CUSTOM_NOTIFICATION              0x10000000
#define RQ_SEND_RESPONSE                    0x20000000
#define RQ_READ_ENTITY                      0x40000000
#define RQ_MAP_PATH                         0x80000000

// Global notifications: bits of the mask given to SetGlobalNotifications.
#define GL_STOP_LISTENING                   0x00000002
#define GL_CACHE_CLEANUP                    0x00000004
#define GL_CACHE_OPERATION                  0x00000010
#define GL_HEALTH_CHECK                     0x00000020
#define GL_CONFIGURATION_CHANGE             0x00000040
#define GL_FILE_CHANGE                      0x00000080
#define GL_PRE_BEGIN_REQUEST                0x00000100
#define GL_APPLICATION_START                0x00000200
#define GL_APPLICATION_RESOLVE_MODULES      0x00000400
#define GL_APPLICATION_STOP                 0x00000800
#define GL_RSCA_QUERY                       0x00001000
#define GL_TRACE_EVENT                      0x00002000
#define GL_CUSTOM_NOTIFICATION              0x00004000
#define GL_THREAD_CLEANUP                   0x00008000
#define GL_APPLICATION_PRELOAD              0x00010000
#define GL_SUSPEND_PROCESS                  0x00020000

// What a request notification handler returns.
enum REQUEST_NOTIFICATION_STATUS {
    RQ_NOTIFICATION_CONTINUE,
    RQ_NOTIFICATION_PENDING,
    RQ_NOTIFICATION_FINISH_REQUEST
};

// What a global notification handler returns.
enum GLOBAL_NOTIFICATION_STATUS {
    GL_NOTIFICATION_CONTINUE,
    GL_NOTIFICATION_HANDLED
};

// Priority aliases for SetPriorityForRequestNotification and friends.
#define PRIORITY_ALIAS_FIRST  L"FIRST"
#define PRIORITY_ALIAS_HIGH   L"HIGH"
#define PRIORITY_ALIAS_MEDIUM L"MEDIUM"
#define PRIORITY_ALIAS_LOW    L"LOW"
#define PRIORITY_ALIAS_LAST   L"LAST"

enum CACHE_OPERATION {
    CACHE_OPERATION_RETRIEVE,
    CACHE_OPERATION_ADD,
    CACHE_OPERATION_DELETE,
    CACHE_OPERATION_FLUSH_PREFIX,
    CACHE_OPERATION_ENUM
};

// Opaque identity of a registered module (IHttpModuleRegistrationInfo::GetId).
typedef VOID* HTTP_MODULE_ID;

// IHttpContext::CloneContext flags.
#define CLONE_FLAG_BASICS                   0x01
#define CLONE_FLAG_HEADERS                  0x02
#define CLONE_FLAG_ENTITY                   0x04
#define CLONE_FLAG_NO_PRECONDITION          0x08
#define CLONE_FLAG_NO_DAV                   0x10
#define CLONE_FLAG_USER_CACHE_VARY_BY       0x20
#define CLONE_FLAG_SERVER_VARIABLE          0x40

// IHttpContext::ExecuteRequest flags.
#define EXECUTE_FLAG_NO_HEADERS                 0x01
#define EXECUTE_FLAG_IGNORE_CURRENT_INTERCEPTOR 0x02
#define EXECUTE_FLAG_IGNORE_APPPOOL             0x04
#define EXECUTE_FLAG_DISABLE_CUSTOM_ERROR       0x08
#define EXECUTE_FLAG_SAME_URL                   0x10
#define EXECUTE_FLAG_BUFFER_RESPONSE            0x20
#define EXECUTE_FLAG_HTTP_CACHE_ELIGIBLE        0x40

// Defined by httptrace.h; only passed by pointer here.
struct HTTP_TRACE_CONFIGURATION;
struct HTTP_TRACE_EVENT;

class IWorkerProcessFramework;
class IWpfSettings;
class IHttpTraceContext;
class IHttpContext3;
class IHttpCompletionInfo2;

// ---------------------------------------------------------------------------------------------
// Stored contexts and their containers.

class __declspec(uuid("f1927f76-790e-4ccb-a72e-396bdfdae05d")) IHttpStoredContext {
public:
    virtual VOID CleanupStoredContext() = 0;
};

class __declspec(uuid("d7fad7c9-aa27-4ab9-bd60-e55ccba3f5dc")) IHttpModuleContextContainer {
public:
    virtual IHttpStoredContext* GetModuleContext(HTTP_MODULE_ID moduleId) = 0;
    virtual HRESULT SetModuleContext(IHttpStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) = 0;
};

class __declspec(uuid("16db6f7c-1a94-47ca-a8e8-fea6005ff3ba")) INamedContextContainer {
public:
    virtual IHttpStoredContext* GetNamedContext(LPCWSTR szName) = 0;
    virtual HRESULT SetNamedContext(IHttpStoredContext* ppStoredContext, LPCWSTR szName) = 0;
};

class __declspec(uuid("2ae49359-95dd-4e48-ae20-c0cb9d0bc03a")) IDispensedHttpModuleContextContainer : public IHttpModuleContextContainer {
public:
    virtual VOID ReleaseContainer() = 0;
};

class __declspec(uuid("bdfc4c4a-12a4-4744-87d8-765eb320c59f")) IHttpPerfCounterInfo {
public:
    virtual VOID IncrementCounter(DWORD dwCounterIndex, DWORD dwValue = 1) = 0;
    virtual VOID DecrementCounter(DWORD dwCounterIndex, DWORD dwValue = 1) = 0;
};

// ---------------------------------------------------------------------------------------------
// Application, URL, script map and metadata descriptors.

class __declspec(uuid("3f75d9e6-1075-422c-ad89-93a85f2d7bdc")) IHttpApplication {
public:
    virtual PCWSTR GetApplicationPhysicalPath() const = 0;
    virtual PCWSTR GetApplicationId() const = 0;
    virtual PCWSTR GetAppConfigPath() const = 0;
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
};

class __declspec(uuid("311a3b7a-b673-4a1c-8349-2e98a23cadcb")) IHttpApplication2 : public IHttpApplication {
public:
    virtual VOID BeginApplicationWarmup() = 0;
    virtual VOID EndApplicationWarmup() = 0;
    virtual BOOL QueryIsWarmingUp() = 0;
};

class __declspec(uuid("7e0e6167-0094-49a1-8287-ecf6dc6e73a6")) IHttpUrlInfo {
public:
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
    virtual BOOL IsFrequentlyHit() const = 0;
};

class __declspec(uuid("d7fe3d77-68bc-4d4a-851f-eec9fb68017c")) IScriptMapInfo {
public:
    virtual PCWSTR GetPath() const = 0;
    virtual PCSTR GetAllowedVerbs() const = 0;
    virtual PCWSTR GetModules(DWORD* pcchModules = NULL) const = 0;
    virtual PCWSTR GetScriptProcessor(DWORD* pcchScriptProcessor = NULL) const = 0;
    virtual PCWSTR GetManagedType(DWORD* pcchManagedType = NULL) const = 0;
    virtual BOOL GetAllowPathInfoForScriptMappings() const = 0;
    virtual DWORD GetRequiredAccess() const = 0;
    virtual DWORD GetResourceType() const = 0;
    virtual BOOL GetIsStarScriptMap() const = 0;
    virtual DWORD GetResponseBufferLimit() const = 0;
    virtual PCWSTR GetName() const = 0;
};

class __declspec(uuid("fd86e6de-fb0e-47dd-820a-e0da12be46e9")) IHttpTokenEntry;

class __declspec(uuid("48b10633-825d-495e-93b0-225380053e8e")) IMetadataInfo {
public:
    virtual PCWSTR GetMetaPath() const = 0;
    virtual PCWSTR GetVrPath() const = 0;
    virtual IHttpTokenEntry* GetVrToken() = 0;
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
};

class __declspec(uuid("3fc5c336-9ad7-45ea-af2f-31b59302c9fe")) IReferencedMetadataInfo : public IMetadataInfo {
public:
    virtual VOID ReferenceMetadata() = 0;
    virtual VOID DereferenceMetadata() = 0;
};

// ---------------------------------------------------------------------------------------------
// The request.

class __declspec(uuid("e8698f7e-576e-4cac-a309-67435355faef")) IHttpRequest {
public:
    virtual HTTP_REQUEST* GetRawHttpRequest() = 0;
    virtual const HTTP_REQUEST* GetRawHttpRequest() const = 0;
    virtual PCSTR GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue = NULL) const = 0;
    virtual PCSTR GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue = NULL) const = 0;
    virtual HRESULT SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) = 0;
    virtual HRESULT SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) = 0;
    virtual HRESULT DeleteHeader(PCSTR pszHeaderName) = 0;
    virtual HRESULT DeleteHeader(HTTP_HEADER_ID ulHeaderIndex) = 0;
    virtual PCSTR GetHttpMethod() const = 0;
    virtual HRESULT SetHttpMethod(PCSTR pszHttpMethod) = 0;
    virtual HRESULT SetUrl(PCWSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString) = 0;
    virtual HRESULT SetUrl(PCSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString) = 0;
    virtual BOOL GetUrlChanged() const = 0;
    virtual PCWSTR GetForwardedUrl() const = 0;
    virtual PSOCKADDR GetLocalAddress() const = 0;
    virtual PSOCKADDR GetRemoteAddress() const = 0;
    virtual HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, DWORD* pcbBytesReceived, BOOL* pfCompletionPending = NULL) = 0;
    virtual HRESULT InsertEntityBody(VOID* pvBuffer, DWORD cbBuffer) = 0;
    virtual DWORD GetRemainingEntityBytes() = 0;
    virtual VOID GetHttpVersion(USHORT* pMajorVersion, USHORT* pMinorVersion) const = 0;
    virtual HRESULT GetClientCertificate(HTTP_SSL_CLIENT_CERT_INFO** ppClientCertInfo, BOOL* pfClientCertNegotiated) = 0;
    virtual HRESULT NegotiateClientCertificate(BOOL fAsync, BOOL* pfCompletionPending = NULL) = 0;
    virtual DWORD GetSiteId() const = 0;
    virtual HRESULT GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderRequestMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderRequestMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices) = 0;
};

class __declspec(uuid("d9244ae1-51f8-4aa1-a66d-19277c33e610")) IHttpRequest2 : public IHttpRequest {
public:
    virtual HRESULT GetChannelBindingToken(PBYTE* ppToken, DWORD* pTokenSize) = 0;
};

// Completion callback of the asynchronous operations added in IIS 8.
typedef REQUEST_NOTIFICATION_STATUS (WINAPI* PFN_ASYNC_COMPLETION)(IHttpContext3* pHttpContext, IHttpCompletionInfo2* pCompletionInfo, VOID* pvCompletionContext);

class __declspec(uuid("b32e4e0f-4057-4feb-aeab-7b69c03c6314")) IHttpRequest3 : public IHttpRequest2 {
public:
    virtual HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbBytesReceived, BOOL* pfCompletionPending = NULL) = 0;
};

class __declspec(uuid("3816f517-f631-49f0-8b51-16d6f0c6ffb2")) IHttpRequest4 : public IHttpRequest3 {
public:
    virtual HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, ULONG ulFlags, DWORD* pcbBytesReceived, BOOL* pfCompletionPending = NULL) = 0;
};

// ---------------------------------------------------------------------------------------------
// Cache policy and the response.

class __declspec(uuid("cb1c40ca-70f2-41a0-add2-881f5ef57388")) IHttpCachePolicy {
public:
    virtual HTTP_CACHE_POLICY* GetKernelCachePolicy() = 0;
    virtual VOID SetKernelCacheInvalidatorSet() = 0;
    virtual HTTP_CACHE_POLICY* GetUserCachePolicy() = 0;
    virtual HRESULT AppendVaryByHeader(PCSTR pszHeader) = 0;
    virtual PCSTR GetVaryByHeaders() const = 0;
    virtual HRESULT AppendVaryByQueryString(PCSTR pszParam) = 0;
    virtual PCSTR GetVaryByQueryStrings() const = 0;
    virtual HRESULT SetVaryByValue(PCSTR pszValue) = 0;
    virtual PCSTR GetVaryByValue() const = 0;
    virtual BOOL IsUserCacheEnabled() const = 0;
    virtual VOID DisableUserCache() = 0;
    virtual BOOL IsCached() const = 0;
    virtual VOID SetIsCached() = 0;
    virtual BOOL GetKernelCacheInvalidatorSet() const = 0;
};

class __declspec(uuid("9f4ba807-050e-4495-ae55-8870f7e9194a")) IHttpCachePolicy2 : public IHttpCachePolicy {
public:
    virtual BOOL IsForceUpdateSet() const = 0;
    virtual VOID SetForceUpdate() = 0;
};

class __declspec(uuid("7e1c6b38-628f-4e6c-95dc-41237eb7f95e")) IHttpResponse {
public:
    virtual HTTP_RESPONSE* GetRawHttpResponse() = 0;
    virtual const HTTP_RESPONSE* GetRawHttpResponse() const = 0;
    virtual IHttpCachePolicy* GetCachePolicy() = 0;
    virtual HRESULT SetStatus(USHORT statusCode, PCSTR pszReason, USHORT uSubStatus = 0, HRESULT hrErrorToReport = S_OK, IAppHostConfigException* pException = NULL, BOOL fTrySkipCustomErrors = FALSE) = 0;
    virtual HRESULT SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) = 0;
    virtual HRESULT SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) = 0;
    virtual HRESULT DeleteHeader(PCSTR pszHeaderName) = 0;
    virtual HRESULT DeleteHeader(HTTP_HEADER_ID ulHeaderIndex) = 0;
    virtual PCSTR GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue = NULL) const = 0;
    virtual PCSTR GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue = NULL) const = 0;
    virtual VOID Clear() = 0;
    virtual VOID ClearHeaders() = 0;
    virtual VOID SetNeedDisconnect() = 0;
    virtual VOID ResetConnection() = 0;
    virtual VOID DisableKernelCache(ULONG reason = 9) = 0;
    virtual BOOL GetKernelCacheEnabled() const = 0;
    virtual VOID SuppressHeaders() = 0;
    virtual BOOL GetHeadersSuppressed() const = 0;
    virtual HRESULT Flush(BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected = NULL) = 0;
    virtual HRESULT Redirect(PCSTR pszUrl, BOOL fResetStatusCode = TRUE, BOOL fIncludeParameters = FALSE) = 0;
    virtual HRESULT WriteEntityChunkByReference(HTTP_DATA_CHUNK* pDataChunk, LONG lInsertPosition = -1) = 0;
    virtual HRESULT WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected = NULL) = 0;
    virtual VOID DisableBuffering() = 0;
    virtual VOID GetStatus(USHORT* pStatusCode, USHORT* pSubStatus = NULL, PCSTR* ppszReason = NULL, USHORT* pcchReason = NULL, HRESULT* phrErrorToReport = NULL, PCWSTR* ppszModule = NULL, DWORD* pdwNotification = NULL, IAppHostConfigException** ppException = NULL, BOOL* pfTrySkipCustomErrors = NULL) = 0;
    virtual HRESULT SetErrorDescription(PCWSTR pszDescription, DWORD cchDescription, BOOL fHtmlEncode = TRUE) = 0;
    virtual PCWSTR GetErrorDescription(DWORD* pcchDescription = NULL) = 0;
    virtual HRESULT GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderResponseMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderResponseMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices) = 0;
    virtual VOID CloseConnection() = 0;
};

class __declspec(uuid("0822c871-f14e-4974-a1e6-5b3c1f09b76a")) IHttpResponse2 : public IHttpResponse {
public:
    virtual HRESULT WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected = NULL) = 0;
    virtual HRESULT Flush(BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected = NULL) = 0;
};

// HTTP/2 server push.
class __declspec(uuid("19578e49-d080-45da-b673-96cb475d3c5d")) IHttpResponse3 : public IHttpResponse2 {
public:
    virtual HRESULT PushPromise(PCSTR pszVerb, PCWSTR pwszPath, PCWSTR pwszQuery, DWORD cHeaders, PCSTR* rgHeaderNames, PCSTR* rgHeaderValues) = 0;
};

// HTTP/2 trailers, RST_STREAM and GOAWAY.
class __declspec(uuid("1a2acc57-cae2-4f28-b4ab-00c8f96b12ec")) IHttpResponse4 : public IHttpResponse3 {
public:
    virtual HRESULT DeleteTrailer(PCSTR pszHeaderName) = 0;
    virtual PCSTR GetTrailer(PCSTR pszHeaderName, USHORT* pcchHeaderValue = NULL) const = 0;
    virtual VOID ResetStream(ULONG errorCode) = 0;
    virtual VOID SetNeedGoAway() = 0;
    virtual HRESULT SetTrailer(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) = 0;
};

// ---------------------------------------------------------------------------------------------
// User and connection.

class __declspec(uuid("8059e6f8-10ce-4d61-b47e-5a1d8d9a8b67")) IHttpUser {
public:
    virtual PCWSTR GetRemoteUserName() = 0;
    virtual PCWSTR GetUserName() = 0;
    virtual PCWSTR GetAuthenticationType() = 0;
    virtual PCWSTR GetPassword() = 0;
    virtual HANDLE GetImpersonationToken() = 0;
    virtual HANDLE GetPrimaryToken() = 0;
    virtual VOID ReferenceUser() = 0;
    virtual VOID DereferenceUser() = 0;
    virtual BOOL SupportsIsInRole() = 0;
    virtual HRESULT IsInRole(PCWSTR pszRoleName, BOOL* pfInRole) = 0;
    virtual PVOID GetUserVariable(PCSTR pszVariableName) = 0;
};

// Names accepted by IHttpUser::GetUserVariable.
#define HTTP_USER_VARIABLE_SID          "SID"
#define HTTP_USER_VARIABLE_CTXT_HANDLE  "CtxtHandle"
#define HTTP_USER_VARIABLE_CRED_HANDLE  "CredHandle"

class __declspec(uuid("841d9a71-75f4-4626-8b97-66046ca7e45b")) IHttpConnectionStoredContext : public IHttpStoredContext {
public:
    virtual VOID NotifyDisconnect() = 0;
};

class __declspec(uuid("f3dd2fb3-4d11-4295-b8ab-4cb667add1fe")) IHttpConnectionModuleContextContainer : public IHttpModuleContextContainer {
public:
    virtual IHttpConnectionStoredContext* GetConnectionModuleContext(HTTP_MODULE_ID moduleId) = 0;
    virtual HRESULT SetConnectionModuleContext(IHttpConnectionStoredContext* ppStoredContext, HTTP_MODULE_ID moduleId) = 0;
};

class __declspec(uuid("d9a5de00-3346-4599-9826-fe88565e1226")) IHttpConnection {
public:
    virtual BOOL IsConnected() const = 0;
    virtual VOID* AllocateMemory(DWORD cbAllocation) = 0;
    virtual IHttpConnectionModuleContextContainer* GetModuleContextContainer() = 0;
};

class __declspec(uuid("71e95595-8c74-44d9-88a9-f5112d5f5900")) IHttpFileInfo;
class __declspec(uuid("eb16a6ec-ba5d-436f-bf24-3ede13906450")) IHttpSite;
class __declspec(uuid("671e6d34-9380-4df4-b453-91129df02b24")) ICustomNotificationProvider;
class __declspec(uuid("6f3f657d-2fb8-43c6-a096-5064b41f0580")) IHttpEventProvider;
class CHttpModule;

// Versions for the deprecated IHttpContext::GetExtendedInterface; it has none.
enum HTTP_CONTEXT_INTERFACE_VERSION {
};

// ---------------------------------------------------------------------------------------------
// The context of one request: everything a module reaches during a notification.

class __declspec(uuid("424c1b8c-a1ba-44d7-ac98-9f8f457701a5")) IHttpContext {
public:
    virtual IHttpSite* GetSite() = 0;
    virtual IHttpApplication* GetApplication() = 0;
    virtual IHttpConnection* GetConnection() = 0;
    virtual IHttpRequest* GetRequest() = 0;
    virtual IHttpResponse* GetResponse() = 0;
    virtual BOOL GetResponseHeadersSent() const = 0;
    virtual IHttpUser* GetUser() const = 0;
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
    virtual VOID IndicateCompletion(REQUEST_NOTIFICATION_STATUS notificationStatus) = 0;
    virtual HRESULT PostCompletion(DWORD cbBytes) = 0;
    virtual VOID DisableNotifications(DWORD dwNotifications, DWORD dwPostNotifications) = 0;
    virtual BOOL GetNextNotification(REQUEST_NOTIFICATION_STATUS status, DWORD* pdwNotification, BOOL* pfIsPostNotification, CHttpModule** ppModuleInfo, IHttpEventProvider** ppRequestOutput) = 0;
    virtual BOOL GetIsLastNotification(REQUEST_NOTIFICATION_STATUS status) = 0;
    virtual HRESULT ExecuteRequest(BOOL fAsync, IHttpContext* pHttpContext, DWORD dwExecuteFlags, IHttpUser* pHttpUser, BOOL* pfCompletionExpected = NULL) = 0;
    virtual DWORD GetExecuteFlags() const = 0;
    virtual HRESULT GetServerVariable(PCSTR pszVariableName, PCWSTR* ppszValue, DWORD* pcchValueLength) = 0;
    virtual HRESULT GetServerVariable(PCSTR pszVariableName, PCSTR* ppszValue, DWORD* pcchValueLength) = 0;
    virtual HRESULT SetServerVariable(PCSTR pszVariableName, PCWSTR pszVariableValue) = 0;
    virtual VOID* AllocateRequestMemory(DWORD cbAllocation) = 0;
    virtual IHttpUrlInfo* GetUrlInfo() = 0;
    virtual IMetadataInfo* GetMetadata() = 0;
    virtual PCWSTR GetPhysicalPath(DWORD* pcchPhysicalPath = NULL) = 0;
    virtual PCWSTR GetScriptName(DWORD* pcchScriptName = NULL) const = 0;
    virtual PCWSTR GetScriptTranslated(DWORD* pcchScriptTranslated = NULL) = 0;
    virtual IScriptMapInfo* GetScriptMap() const = 0;
    virtual VOID SetRequestHandled() = 0;
    virtual IHttpFileInfo* GetFileInfo() const = 0;
    virtual HRESULT MapPath(PCWSTR pszUrl, PWSTR pszPhysicalPath, DWORD* pcbPhysicalPath) = 0;
    virtual HRESULT NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput, BOOL* pfCompletionExpected) = 0;
    virtual IHttpContext* GetParentContext() const = 0;
    virtual IHttpContext* GetRootContext() const = 0;
    virtual HRESULT CloneContext(DWORD dwCloneFlags, IHttpContext** ppHttpContext) = 0;
    virtual HRESULT ReleaseClonedContext() = 0;
    virtual HRESULT GetCurrentExecutionStats(DWORD* pdwNotification, DWORD* pdwNotificationStartTickCount = NULL, PCWSTR* ppszModule = NULL, DWORD* pdwModuleStartTickCount = NULL, DWORD* pdwAsyncNotification = NULL, DWORD* pdwAsyncNotificationStartTickCount = NULL) const = 0;
    virtual IHttpTraceContext* GetTraceContext() const = 0;
    virtual HRESULT GetServerVarChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, DWORD* pdwVariableSnapshot, PCSTR** ppVariableNameSnapshot, PCWSTR** ppVariableValueSnapshot, DWORD* pdwDiffedVariables, DWORD** ppDiffedVariableIndices) = 0;
    virtual HRESULT CancelIo() = 0;
    virtual HRESULT MapHandler(DWORD dwSiteId, PCWSTR pszSiteName, PCWSTR pszUrl, PCSTR pszVerb, IScriptMapInfo** ppScriptMap, BOOL fIgnoreWildcardMappings = FALSE) = 0;
    // Deprecated by the SDK in favour of IHttpServer2::GetExtendedInterface.
    virtual HRESULT GetExtendedInterface(HTTP_CONTEXT_INTERFACE_VERSION version, PVOID* ppInterface) = 0;
};

class __declspec(uuid("c986182c-cf4a-4482-8205-0dbbc1fd6cee")) IHttpContext2 : public IHttpContext {
public:
    virtual IHttpUser* GetOriginalUser() const = 0;
};

class __declspec(uuid("bf53c022-ca4b-4349-a38e-a4b78ad897fb")) IHttpContext3 : public IHttpContext2 {
public:
    virtual INamedContextContainer* GetNamedContextContainer() = 0;
    virtual VOID EnableFullDuplex() = 0;
    virtual HRESULT InheritServerVariable(PCSTR szName, BOOL fFailIfNotExist = FALSE) = 0;
    virtual HRESULT PostCompletion(DWORD cbBytes, LPOVERLAPPED_COMPLETION_ROUTINE pfnCompletionRoutine, VOID* pvCompletionContext) = 0;
};

class __declspec(uuid("2c9463d8-4ec4-4622-8917-d486321a9443")) IHttpContext4 : public IHttpContext3 {
public:
    // Both in milliseconds, on the GetTickCount64 clock.
    virtual ULONGLONG GetRequestStartTime() = 0;
    virtual ULONGLONG GetRequestElapsedTime() = 0;
};

class __declspec(uuid("9f9098d5-915c-4294-a52e-66532a232bc9")) IHttpTraceContext {
public:
    virtual HRESULT GetTraceConfiguration(HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration) = 0;
    virtual HRESULT SetTraceConfiguration(HTTP_MODULE_ID moduleId, HTTP_TRACE_CONFIGURATION* pHttpTraceConfiguration, DWORD cHttpTraceConfiguration = 1) = 0;
    virtual HRESULT RaiseTraceEvent(HTTP_TRACE_EVENT* pTraceEvent) = 0;
    virtual LPCGUID GetTraceActivityId() = 0;
    // Level 4 is TRACE_LEVEL_INFORMATION.
    virtual HRESULT QuickTrace(PCWSTR pszData1, PCWSTR pszData2 = NULL, HRESULT hrLastError = S_OK, UCHAR Level = 4) = 0;
};

// ---------------------------------------------------------------------------------------------
// Cache entries, site, files and tokens.

class __declspec(uuid("37776aff-852e-4eec-93a5-b85a285a95b8")) IHttpCacheSpecificData;

class __declspec(uuid("cdef2aad-20b3-4512-b1b1-094b3844aeb2")) IHttpCacheKey {
public:
    virtual DWORD GetHash() const = 0;
    virtual PCWSTR GetCacheName() const = 0;
    virtual bool GetIsEqual(IHttpCacheKey* pCacheCompareKey) const = 0;
    virtual bool GetIsPrefix(IHttpCacheKey* pCacheCompareKey) const = 0;
    virtual VOID Enum(IHttpCacheSpecificData* pCacheData) = 0;
};

class __declspec(uuid("37776aff-852e-4eec-93a5-b85a285a95b8")) IHttpCacheSpecificData {
public:
    virtual IHttpCacheKey* GetCacheKey() const = 0;
    virtual VOID ReferenceCacheData() = 0;
    virtual VOID DereferenceCacheData() = 0;
    virtual VOID ResetTTL() = 0;
    virtual VOID DecrementTTL(BOOL* pfTTLExpired) = 0;
    virtual VOID SetFlushed() = 0;
    virtual BOOL GetFlushed() const = 0;
};

class __declspec(uuid("eb16a6ec-ba5d-436f-bf24-3ede13906450")) IHttpSite {
public:
    virtual DWORD GetSiteId() const = 0;
    virtual PCWSTR GetSiteName() const = 0;
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
    virtual IHttpPerfCounterInfo* GetPerfCounterInfo() = 0;
};

class __declspec(uuid("985422da-b0cf-473b-ba9e-8148ceb3e240")) IHttpFileMonitor {
public:
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
    virtual VOID DereferenceFileMonitor() = 0;
};

class __declspec(uuid("71e95595-8c74-44d9-88a9-f5112d5f5900")) IHttpFileInfo : public IHttpCacheSpecificData {
public:
    virtual DWORD GetAttributes() const = 0;
    virtual VOID GetSize(ULARGE_INTEGER* pliSize) const = 0;
    virtual const BYTE* GetFileBuffer() const = 0;
    virtual HANDLE GetFileHandle() const = 0;
    virtual PCWSTR GetFilePath() const = 0;
    virtual PCSTR GetETag(USHORT* pcchETag = NULL) const = 0;
    virtual VOID GetLastModifiedTime(FILETIME* pFileTime) const = 0;
    virtual PCSTR GetLastModifiedString() const = 0;
    virtual BOOL GetHttpCacheAllowed(DWORD* pSecondsToLive) const = 0;
    virtual HRESULT AccessCheck(HANDLE hUserToken, PSID pUserSid) = 0;
    virtual HANDLE GetVrToken() const = 0;
    virtual PCWSTR GetVrPath() const = 0;
    virtual IHttpModuleContextContainer* GetModuleContextContainer() = 0;
    virtual BOOL CheckIfFileHasChanged(HANDLE hUserToken) = 0;
};

class __declspec(uuid("fd86e6de-fb0e-47dd-820a-e0da12be46e9")) IHttpTokenEntry : public IHttpCacheSpecificData {
public:
    virtual HANDLE GetImpersonationToken() = 0;
    virtual HANDLE GetPrimaryToken() = 0;
    virtual PSID GetSid() = 0;
};

// ---------------------------------------------------------------------------------------------
// The server: process-wide services, handed to RegisterModule.

enum HTTP_SERVER_INTERFACE_VERSION {
    HTTP_SERVER_INTERFACE_V2,
    HTTP_SERVER_INTERFACE_V3
};

class __declspec(uuid("eda2a40f-fb92-4d6d-b52b-c8c207380b4e")) IHttpServer {
public:
    virtual BOOL IsCommandLineLaunch() const = 0;
    virtual PCWSTR GetAppPoolName() const = 0;
    virtual HRESULT AssociateWithThreadPool(HANDLE hHandle, LPOVERLAPPED_COMPLETION_ROUTINE completionRoutine) = 0;
    virtual VOID IncrementThreadCount() = 0;
    virtual VOID DecrementThreadCount() = 0;
    virtual VOID ReportUnhealthy(PCWSTR pszReasonString, HRESULT hrReason) = 0;
    virtual VOID RecycleProcess(PCWSTR pszReason) = 0;
    virtual IAppHostAdminManager* GetAdminManager() const = 0;
    virtual HRESULT GetFileInfo(PCWSTR pszPhysicalPath, HANDLE hUserToken, PSID pSid, PCWSTR pszChangeNotificationPath, HANDLE hChangeNotificationToken, BOOL fCache, IHttpFileInfo** ppFileInfo, IHttpTraceContext* pHttpTraceContext = NULL) = 0;
    virtual HRESULT FlushKernelCache(PCWSTR pszUrl) = 0;
    virtual HRESULT DoCacheOperation(CACHE_OPERATION cacheOperation, IHttpCacheKey* pCacheKey, IHttpCacheSpecificData** ppCacheSpecificData, IHttpTraceContext* pHttpTraceContext = NULL) = 0;
    virtual GLOBAL_NOTIFICATION_STATUS NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput) = 0;
    virtual IHttpPerfCounterInfo* GetPerfCounterInfo() = 0;
    virtual VOID RecycleApplication(PCWSTR pszAppConfigPath) = 0;
    virtual VOID NotifyConfigurationChange(PCWSTR pszPath) = 0;
    virtual VOID NotifyFileChange(PCWSTR pszFileName) = 0;
    virtual IDispensedHttpModuleContextContainer* DispenseContainer() = 0;
    virtual HRESULT AddFragmentToCache(HTTP_DATA_CHUNK* pDataChunk, PCWSTR pszFragmentName) = 0;
    virtual HRESULT ReadFragmentFromCache(PCWSTR pszFragmentName, BYTE* pvBuffer, DWORD cbSize, DWORD* pcbCopied) = 0;
    virtual HRESULT RemoveFragmentFromCache(PCWSTR pszFragmentName) = 0;
    virtual HRESULT GetWorkerProcessSettings(IWpfSettings** ppWorkerProcessSettings) = 0;
    virtual HRESULT GetProtocolManagerCustomInterface(PCWSTR pProtocolManagerDll, PCWSTR pProtocolManagerDllInitFunction, DWORD dwCustomInterfaceId, PVOID* ppCustomInterface) = 0;
    virtual BOOL SatisfiesPrecondition(PCWSTR pszPrecondition, BOOL* pfUnknownPrecondition = NULL) const = 0;
    virtual IHttpTraceContext* GetTraceContext() const = 0;
    virtual HRESULT RegisterFileChangeMonitor(PCWSTR pszPath, HANDLE hToken, IHttpFileMonitor** ppFileMonitor) = 0;
    virtual HRESULT GetExtendedInterface(HTTP_SERVER_INTERFACE_VERSION version, PVOID* ppInterface) = 0;
};

class __declspec(uuid("34af637e-afe8-4556-bcc1-767f8e0b4a4e")) IHttpServer2 : public IHttpServer {
public:
    virtual HRESULT GetToken(PCWSTR pszUserName, PCWSTR pszPassword, DWORD dwLogonMethod, IHttpTokenEntry** ppTokenEntry, PCWSTR pszDefaultDomain = NULL, PSOCKADDR pSockAddr = NULL, IHttpTraceContext* pHttpTraceContext = NULL) = 0;
    virtual PCWSTR GetAppPoolConfigFile(DWORD* pcchConfigFilePath = NULL) const = 0;
    // Maps an object of the interface Version1 to its extension Version2 (for example
    // IHttpContext to IHttpContext3); HttpGetExtendedInterface below wraps it.
    virtual HRESULT GetExtendedInterface(const GUID& Version1, PVOID pInput, const GUID& Version2, PVOID* ppOutput) = 0;
    virtual HRESULT GetMetadata(PCWSTR pszSiteName, PCWSTR pszUrl, IReferencedMetadataInfo** ppMetadataInfo) = 0;
    virtual HRESULT GetWorkerProcessFramework(IWorkerProcessFramework** ppWorkerProcessFramework) = 0;
};

class __declspec(uuid("f7a66d59-c0a2-48b5-a88f-be5975c960fb")) IHttpServer3 : public IHttpServer2 {
public:
    virtual HRESULT QueryRequestProperty(HTTP_OPAQUE_ID id, HTTP_REQUEST_PROPERTY propertyId, PVOID pQualifier, ULONG qualifierSize, PVOID pOutput, ULONG outputBufferSize, PULONG pcbBytesReturned, LPOVERLAPPED pOverlapped) = 0;
};

// Reaches an extension interface of an IIS object: IHttpServer gives IHttpServer2, whose
// GetExtendedInterface maps (object, uuid of its type) to the object's (uuid of the extension).
template <class HttpType1, class HttpType2>
HRESULT HttpGetExtendedInterface(IHttpServer* pHttpServer, HttpType1* pInput, HttpType2** ppOutput)
{
    IHttpServer2* server2 = NULL;
    HRESULT hr = pHttpServer->GetExtendedInterface(HTTP_SERVER_INTERFACE_V2, reinterpret_cast<void**>(&server2));
    if (FAILED(hr)) {
        return hr;
    }
    return server2->GetExtendedInterface(__uuidof(HttpType1), pInput, __uuidof(HttpType2), reinterpret_cast<void**>(ppOutput));
}

// ---------------------------------------------------------------------------------------------
// Event providers: the per-notification objects handed to handlers.

class __declspec(uuid("6f3f657d-2fb8-43c6-a096-5064b41f0580")) IHttpEventProvider {
public:
    virtual VOID SetErrorStatus(HRESULT hrError) = 0;
};

class __declspec(uuid("49dd20e3-d9c0-463c-8821-f3413b55cc00")) IHttpCompletionInfo {
public:
    virtual DWORD GetCompletionBytes() const = 0;
    virtual HRESULT GetCompletionStatus() const = 0;
};

class __declspec(uuid("53129f70-0196-47ec-b16c-127906e2afeb")) IHttpCompletionInfo2 : public IHttpCompletionInfo {
public:
    virtual DWORD GetCompletedOperation() const = 0;
};

class __declspec(uuid("671e6d34-9380-4df4-b453-91129df02b24")) ICustomNotificationProvider : public IHttpEventProvider {
public:
    virtual PCWSTR QueryNotificationType() = 0;
};

class __declspec(uuid("304d51d0-0307-45ed-83fd-dd3fc032fdfc")) IAuthenticationProvider : public IHttpEventProvider {
public:
    virtual VOID SetUser(IHttpUser* pUser) = 0;
};

class __declspec(uuid("fea3ce6b-e346-47e7-b2a6-ad265baeff2c")) IMapHandlerProvider : public IHttpEventProvider {
public:
    virtual HRESULT SetScriptName(PCWSTR pszScriptName, DWORD cchScriptName) = 0;
    virtual VOID SetScriptMap(IScriptMapInfo* pScriptMap) = 0;
    virtual VOID SetFileInfo(IHttpFileInfo* pFileInfo) = 0;
};

class __declspec(uuid("8efdf557-a8f1-4bc9-b462-6df3b038a59a")) IMapPathProvider : public IHttpEventProvider {
public:
    virtual PCWSTR GetUrl() const = 0;
    virtual PCWSTR GetPhysicalPath() const = 0;
    virtual HRESULT SetPhysicalPath(PCWSTR pszPhysicalPath, DWORD cchPhysicalPath) = 0;
};

class __declspec(uuid("57f2e7bc-0bcf-4a9f-94a4-10e55c6e5b51")) ISendResponseProvider : public IHttpEventProvider {
public:
    virtual BOOL GetHeadersBeingSent() const = 0;
    virtual DWORD GetFlags() const = 0;
    virtual VOID SetFlags(DWORD dwFlags) = 0;
    virtual HTTP_LOG_DATA* GetLogData() const = 0;
    virtual HRESULT SetLogData(HTTP_LOG_DATA* pLogData) = 0;
    virtual BOOL GetReadyToLogData() const = 0;
};

class __declspec(uuid("fe6d905a-99b8-49fd-b389-cfc809562b81")) IReadEntityProvider : public IHttpEventProvider {
public:
    virtual VOID GetEntity(PVOID* ppBuffer, DWORD* pcbData, DWORD* pcbBuffer) = 0;
    virtual VOID SetEntity(PVOID pBuffer, DWORD cbData, DWORD cbBuffer) = 0;
};

class __declspec(uuid("fb715d26-aff9-476a-8fc0-6b1acb3d1098")) IPreBeginRequestProvider : public IHttpEventProvider {
public:
    virtual IHttpContext* GetHttpContext() = 0;
};

class __declspec(uuid("1de2c71c-c126-4512-aed3-f4f885e14997")) IHttpApplicationProvider : public IHttpEventProvider {
public:
    virtual IHttpApplication* GetApplication() = 0;
};

typedef IHttpApplicationProvider IHttpApplicationStartProvider;

class __declspec(uuid("ba32d330-9ea8-4b9e-89f1-8c76a323277f")) IHttpModuleFactory;

class __declspec(uuid("0617d9b9-e20f-4a9f-94f9-35403b3be01e")) IHttpApplicationResolveModulesProvider : public IHttpApplicationProvider {
public:
    virtual HRESULT RegisterModule(HTTP_MODULE_ID parentModuleId, IHttpModuleFactory* pModuleFactory, PCWSTR pszModuleName, PCWSTR pszModuleType, PCWSTR pszModulePreCondition, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications) = 0;
    virtual HRESULT SetPriorityForRequestNotification(PCWSTR pszModuleName, DWORD dwRequestNotification, PCWSTR pszPriorityAlias) = 0;
};

typedef IHttpApplicationProvider IHttpApplicationStopProvider;

class __declspec(uuid("63fdc43f-934a-4ee5-bcd8-7e7b50b75605")) IGlobalRSCAQueryProvider : public IHttpEventProvider {
public:
    virtual PCWSTR GetFunctionName() const = 0;
    virtual PCWSTR GetFunctionParameters() const = 0;
    virtual HRESULT GetOutputBuffer(DWORD cbBuffer, BYTE** ppbBuffer) = 0;
    virtual HRESULT ResizeOutputBuffer(DWORD cbNewBuffer, DWORD cbBytesToCopy, BYTE** ppbBuffer) = 0;
    virtual VOID SetResult(DWORD cbData, HRESULT hr) = 0;
};

class __declspec(uuid("41f9a601-e25d-4ac8-8a1f-635698a30ab9")) IGlobalStopListeningProvider : public IHttpEventProvider {
public:
    virtual BOOL DrainRequestsGracefully() const = 0;
};

class __declspec(uuid("58925fb9-7c5e-4684-833b-4a04e1286690")) ICacheProvider : public IHttpEventProvider {
public:
    virtual CACHE_OPERATION GetCacheOperation() const = 0;
    virtual IHttpCacheKey* GetCacheKey() const = 0;
    virtual IHttpCacheSpecificData* GetCacheRecord() const = 0;
    virtual VOID SetCacheRecord(IHttpCacheSpecificData* pCacheRecord) = 0;
    virtual IHttpTraceContext* GetTraceContext() const = 0;
};

class __declspec(uuid("3405f3b4-b3d6-4b73-b5f5-4d8a3cc642ce")) IGlobalConfigurationChangeProvider : public IHttpEventProvider {
public:
    virtual PCWSTR GetChangePath() const = 0;
};

class __declspec(uuid("ece31ee5-0486-4fb0-a875-6739a2d7daf5")) IGlobalFileChangeProvider : public IHttpEventProvider {
public:
    virtual PCWSTR GetFileName() const = 0;
    virtual IHttpFileMonitor* GetFileMonitor() = 0;
};

class __declspec(uuid("7c6bb150-0310-4718-a01f-6faceb62dc1d")) IGlobalTraceEventProvider : public IHttpEventProvider {
public:
    virtual HRESULT GetTraceEvent(HTTP_TRACE_EVENT** ppTraceEvent) = 0;
    virtual BOOL CheckSubscription(HTTP_MODULE_ID ModuleId) = 0;
    virtual HRESULT GetCurrentHttpRequestContext(IHttpContext** ppHttpContext) = 0;
};

class __declspec(uuid("6b36a149-8620-45a0-8197-00814a706e2e")) IGlobalThreadCleanupProvider : public IHttpEventProvider {
public:
    virtual IHttpApplication* GetApplication() = 0;
};

class __declspec(uuid("2111f8d6-0c41-4ff7-bd45-5c04c7e91a73")) IGlobalApplicationPreloadProvider : public IHttpEventProvider {
public:
    virtual HRESULT CreateContext(IHttpContext** ppHttpContext) = 0;
    virtual HRESULT ExecuteRequest(IHttpContext* pHttpContext, IHttpUser* pHttpUser) = 0;
};

class __declspec(uuid("251db2dd-81e7-44ce-ae02-46529f2d71ea")) IGlobalApplicationPreloadProvider2 : public IGlobalApplicationPreloadProvider {
public:
    virtual BOOL IsProcessRecycled() const = 0;
};

class __declspec(uuid("7fd8f303-1031-4e50-918a-b7b916fd6c54")) IGlobalSuspendProcessCallback : public IHttpEventProvider {
public:
    virtual HRESULT Resume() = 0;
};

// ---------------------------------------------------------------------------------------------
// What a module implements. IIS calls a handler only for the notifications the module
// registered; the bodies here are what an unregistered handler would do (nothing).

class CHttpModule {
public:
    virtual REQUEST_NOTIFICATION_STATUS OnBeginRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostBeginRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnAuthenticateRequest(IHttpContext* pHttpContext, IAuthenticationProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostAuthenticateRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnAuthorizeRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostAuthorizeRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnResolveRequestCache(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostResolveRequestCache(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnMapRequestHandler(IHttpContext* pHttpContext, IMapHandlerProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostMapRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnAcquireRequestState(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostAcquireRequestState(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPreExecuteRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostPreExecuteRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnExecuteRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostExecuteRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnReleaseRequestState(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostReleaseRequestState(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnUpdateRequestCache(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostUpdateRequestCache(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnLogRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostLogRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnEndRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnPostEndRequest(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnSendResponse(IHttpContext* pHttpContext, ISendResponseProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnMapPath(IHttpContext* pHttpContext, IMapPathProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnReadEntity(IHttpContext* pHttpContext, IReadEntityProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnCustomRequestNotification(IHttpContext* pHttpContext, ICustomNotificationProvider* pProvider) { return RQ_NOTIFICATION_CONTINUE; }
    virtual REQUEST_NOTIFICATION_STATUS OnAsyncCompletion(IHttpContext* pHttpContext, DWORD dwNotification, BOOL fPostNotification, IHttpEventProvider* pProvider, IHttpCompletionInfo* pCompletionInfo) { return RQ_NOTIFICATION_CONTINUE; }
    // Called when IIS is done with the module object; the default frees it.
    virtual VOID Dispose() { delete this; }

protected:
    CHttpModule() {}
    virtual ~CHttpModule() {}
};

class CGlobalModule {
public:
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalStopListening(IGlobalStopListeningProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalCacheCleanup() { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalCacheOperation(ICacheProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalHealthCheck() { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalConfigurationChange(IGlobalConfigurationChangeProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalFileChange(IGlobalFileChangeProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalPreBeginRequest(IPreBeginRequestProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationStart(IHttpApplicationStartProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationResolveModules(IHttpApplicationResolveModulesProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationStop(IHttpApplicationStopProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalRSCAQuery(IGlobalRSCAQueryProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalTraceEvent(IGlobalTraceEventProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalCustomNotification(ICustomNotificationProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    // IIS calls Terminate when it shuts the module down; the module frees itself here.
    virtual VOID Terminate() = 0;
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalThreadCleanup(IGlobalThreadCleanupProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationPreload(IGlobalApplicationPreloadProvider* pProvider) { return GL_NOTIFICATION_CONTINUE; }
    virtual GLOBAL_NOTIFICATION_STATUS OnSuspendProcess(IGlobalSuspendProcessCallback** pCallback) { return GL_NOTIFICATION_CONTINUE; }
};

// ---------------------------------------------------------------------------------------------
// Module registration.

class __declspec(uuid("85c1679c-0b21-491c-afb5-c7b5c86464c4")) IModuleAllocator {
public:
    virtual VOID* AllocateMemory(DWORD cbAllocation) = 0;
};

class __declspec(uuid("ba32d330-9ea8-4b9e-89f1-8c76a323277f")) IHttpModuleFactory {
public:
    virtual HRESULT GetHttpModule(CHttpModule** ppModule, IModuleAllocator* pAllocator) = 0;
    virtual VOID Terminate() = 0;
};

class __declspec(uuid("07e5beb3-b798-459d-a98a-e6c485b2b3bc")) IHttpModuleRegistrationInfo {
public:
    virtual PCWSTR GetName() const = 0;
    virtual HTTP_MODULE_ID GetId() const = 0;
    virtual HRESULT SetRequestNotifications(IHttpModuleFactory* pModuleFactory, DWORD dwRequestNotifications, DWORD dwPostRequestNotifications) = 0;
    virtual HRESULT SetGlobalNotifications(CGlobalModule* pGlobalModule, DWORD dwGlobalNotifications) = 0;
    virtual HRESULT SetPriorityForRequestNotification(DWORD dwRequestNotification, PCWSTR pszPriority) = 0;
    virtual HRESULT SetPriorityForGlobalNotification(DWORD dwGlobalNotification, PCWSTR pszPriority) = 0;
};

class __declspec(uuid("4fd11cbf-8cc5-418e-8000-c9e765f88533")) IHttpModuleRegistrationInfo2 : public IHttpModuleRegistrationInfo {
public:
    virtual HRESULT SetPriorityForPostRequestNotification(DWORD dwPostRequestNotification, PCWSTR pszPriority) = 0;
};

// The function every module DLL exports, undecorated, as "RegisterModule".
typedef HRESULT (WINAPI* PFN_REGISTERMODULE)(DWORD dwServerVersion, IHttpModuleRegistrationInfo* pModuleInfo, IHttpServer* pGlobalInfo);

#define MODULE_REGISTERMODULE "RegisterModule"

// ---------------------------------------------------------------------------------------------
// WebSockets (the Windows SDK's iiswebsocket.h, Windows 8 / IIS 8.0 and later). Not part of the
// SDK's httpserv.h: a header regenerated from an SDK httpserv.h lacks this section.
//
// IIS's WebSocket module (iiswsock.dll) sets the server variable IIS_WEBSOCK to "websockets" on
// a request it can upgrade; after the handler has sent a 101 response (SetStatus, then Flush),
// IHttpContext3::GetNamedContextContainer()->GetNamedContext(IIS_WEBSOCKET) returns the
// connection's IWebSocketContext. Its completions call pfnCompletion on an IIS thread, not
// CHttpModule::OnAsyncCompletion; when *pfCompletionExpected comes back FALSE the operation
// finished inside the call (its results are in the out parameters) and the callback is not
// called. https://learn.microsoft.com/iis/web-development-reference/native-code-api-reference/iwebsocketcontext-interface
// The SDK declares SendConnectionClose's status code by value (USHORT uStatusCode), which is
// the ABI; the documentation page shows a USHORT* that the header does not have.
#define IIS_WEBSOCKET L"websockets"
#define IIS_WEBSOCKET_SERVER_VARIABLE "IIS_WEBSOCK"

typedef VOID (WINAPI* PFN_WEBSOCKET_COMPLETION)(HRESULT hrError, VOID* pvCompletionContext, DWORD cbIO, BOOL fUTF8Encoded, BOOL fFinalFragment, BOOL fClose);

class IWebSocketContext : public IHttpStoredContext {
public:
    virtual HRESULT WriteFragment(VOID* pData, DWORD* pcbSent, BOOL fAsync, BOOL fUTF8Encoded, BOOL fFinalFragment, PFN_WEBSOCKET_COMPLETION pfnCompletion = NULL, VOID* pvCompletionContext = NULL, BOOL* pfCompletionExpected = NULL) = 0;
    virtual HRESULT ReadFragment(VOID* pData, DWORD* pcbData, BOOL fAsync, BOOL* pfUTF8Encoded, BOOL* pfFinalFragment, BOOL* pfConnectionClose, PFN_WEBSOCKET_COMPLETION pfnCompletion = NULL, VOID* pvCompletionContext = NULL, BOOL* pfCompletionExpected = NULL) = 0;
    virtual HRESULT SendConnectionClose(BOOL fAsync, USHORT uStatusCode, LPCWSTR pszReason = NULL, PFN_WEBSOCKET_COMPLETION pfnCompletion = NULL, VOID* pvCompletionContext = NULL, BOOL* pfCompletionExpected = NULL) = 0;
    virtual HRESULT GetCloseStatus(USHORT* pStatusCode, LPCWSTR* ppszReason = NULL, USHORT* pcchReason = NULL) = 0;
    virtual VOID CloseTcpConnection() = 0;
    virtual VOID CancelOutstandingIO() = 0;
};

#endif // HTTPSERV_RS_HTTPSERV_H
