// context.h: one request as modules see it: IHttpContext4, IHttpRequest4, IHttpResponse4 and
// the objects reachable from them, all owned by a RequestState. The raw HTTP_REQUEST and
// HTTP_RESPONSE structures are the real storage of headers, URL and status, so a module that
// edits them directly and one that uses the methods see the same request.
#ifndef IIS_SIMULATOR_CONTEXT_H
#define IIS_SIMULATOR_CONTEXT_H

#include "providers.h"
#include "script.h"

// Tags that IHttpServer2::GetExtendedInterface checks before it trusts a pointer a module
// passes in: each concrete class has its tag as its first data member (right after the vfptr).
enum ObjectTag : unsigned {
    TAG_CONTEXT = 0x43545834u,       // "CTX4"
    TAG_REQUEST = 0x52455134u,       // "REQ4"
    TAG_RESPONSE = 0x52535034u,      // "RSP4"
    TAG_CACHE_POLICY = 0x43504C32u,  // "CPL2"
    TAG_SERVER = 0x53525633u,        // "SRV3"
    TAG_APPLICATION = 0x41505032u,   // "APP2"
    TAG_REGISTRATION = 0x52454732u,  // "REG2"
    TAG_COMPLETION = 0x434F4D50u,    // "COMP" (CompletionInfo)
};

// A growable HTTP_UNKNOWN_HEADER array that lives in an HTTP_*_HEADERS structure (the unknown
// headers, or the trailers). If a module replaced the array pointer, it is adopted (copied)
// before the next change.
struct UnknownList {
    USHORT* count;
    PHTTP_UNKNOWN_HEADER* array;
    HTTP_UNKNOWN_HEADER* mine;
    unsigned cap;
    Arena* arena;

    void bind(USHORT* c, PHTTP_UNKNOWN_HEADER* a, Arena* ar);
    int find(const char* name, size_t name_len, int from = 0) const;
    void add(const char* name, size_t name_len, const char* value, size_t value_len);
    void remove(int index);
    // Makes the array the list's own (adopting one a module put in) with room for `need`.
    void own(unsigned need);
};

// The headers of an HTTP_REQUEST or HTTP_RESPONSE: known ones by HTTP_HEADER_ID in
// KnownHeaders, the others in the unknown list. A request joins repeated values with ","; a
// response sends each value as a header line of its own (extra ones in the unknown list).
struct HeaderTable {
    HTTP_KNOWN_HEADER* known;
    unsigned known_count;        // HttpHeaderRequestMaximum or HttpHeaderResponseMaximum
    bool response;
    Arena* arena;
    UnknownList unknown;

    void bind(HTTP_KNOWN_HEADER* k, unsigned count, bool is_response, USHORT* unknown_count, PHTTP_UNKNOWN_HEADER* unknown_array, Arena* ar);
    int id_of(const char* name, size_t len) const;  // -1 when not a known header of this direction
    PCSTR get(const char* name, USHORT* len) const;
    PCSTR get(unsigned id, USHORT* len) const;
    HRESULT set(const char* name, const char* value, size_t len, BOOL replace);
    HRESULT set(unsigned id, const char* value, size_t len, BOOL replace);
    HRESULT remove(const char* name);
    HRESULT remove(unsigned id);
    void clear();
};

// The standard name of a known header (request or response numbering).
const char* known_header_name(unsigned id, bool response);

class User : public IHttpUser {
public:
    explicit User(RequestState* rs) : name(0), type(0), password(0), rs_(rs) {}
    PCWSTR GetRemoteUserName() override;
    PCWSTR GetUserName() override;
    PCWSTR GetAuthenticationType() override;
    PCWSTR GetPassword() override;
    HANDLE GetImpersonationToken() override;
    HANDLE GetPrimaryToken() override;
    VOID ReferenceUser() override;
    VOID DereferenceUser() override;
    BOOL SupportsIsInRole() override;
    HRESULT IsInRole(PCWSTR pszRoleName, BOOL* pfInRole) override;
    PVOID GetUserVariable(PCSTR pszVariableName) override;

    wchar_t* name;
    wchar_t* type;
    wchar_t* password;

private:
    RequestState* rs_;
};

class Connection : public IHttpConnection {
public:
    explicit Connection(RequestState* rs);
    BOOL IsConnected() const override;
    VOID* AllocateMemory(DWORD cbAllocation) override;
    IHttpConnectionModuleContextContainer* GetModuleContextContainer() override;

    ConnectionContextContainer container;
    bool connected;

private:
    RequestState* rs_;
};

class UrlInfo : public IHttpUrlInfo {
public:
    explicit UrlInfo(RequestState* rs);
    IHttpModuleContextContainer* GetModuleContextContainer() override;
    BOOL IsFrequentlyHit() const override;

    ModuleContextContainer container;

private:
    RequestState* rs_;
};

class Metadata : public IMetadataInfo {
public:
    explicit Metadata(RequestState* rs);
    PCWSTR GetMetaPath() const override;
    PCWSTR GetVrPath() const override;
    IHttpTokenEntry* GetVrToken() override;
    IHttpModuleContextContainer* GetModuleContextContainer() override;

    ModuleContextContainer container;

private:
    RequestState* rs_;
};

// The handler mapping of the request: IIS's StaticFile handler, which the simulator does not
// run (no handler produces content; modules do).
class ScriptMap : public IScriptMapInfo {
public:
    explicit ScriptMap(RequestState* rs) : rs_(rs) {}
    PCWSTR GetPath() const override;
    PCSTR GetAllowedVerbs() const override;
    PCWSTR GetModules(DWORD* pcchModules) const override;
    PCWSTR GetScriptProcessor(DWORD* pcchScriptProcessor) const override;
    PCWSTR GetManagedType(DWORD* pcchManagedType) const override;
    BOOL GetAllowPathInfoForScriptMappings() const override;
    DWORD GetRequiredAccess() const override;
    DWORD GetResourceType() const override;
    BOOL GetIsStarScriptMap() const override;
    DWORD GetResponseBufferLimit() const override;
    PCWSTR GetName() const override;

private:
    RequestState* rs_;
};

class CachePolicy : public IHttpCachePolicy2 {
public:
    explicit CachePolicy(RequestState* rs);
    HTTP_CACHE_POLICY* GetKernelCachePolicy() override;
    VOID SetKernelCacheInvalidatorSet() override;
    HTTP_CACHE_POLICY* GetUserCachePolicy() override;
    HRESULT AppendVaryByHeader(PCSTR pszHeader) override;
    PCSTR GetVaryByHeaders() const override;
    HRESULT AppendVaryByQueryString(PCSTR pszParam) override;
    PCSTR GetVaryByQueryStrings() const override;
    HRESULT SetVaryByValue(PCSTR pszValue) override;
    PCSTR GetVaryByValue() const override;
    BOOL IsUserCacheEnabled() const override;
    VOID DisableUserCache() override;
    BOOL IsCached() const override;
    VOID SetIsCached() override;
    BOOL GetKernelCacheInvalidatorSet() const override;
    BOOL IsForceUpdateSet() const override;
    VOID SetForceUpdate() override;

    unsigned tag;

private:
    RequestState* rs_;
    HTTP_CACHE_POLICY kernel_;
    HTTP_CACHE_POLICY user_;
    char* vary_headers_;
    char* vary_query_;
    char* vary_value_;
    bool user_cache_enabled_;
    bool cached_;
    bool invalidator_set_;
    bool force_update_;
};

class Request : public IHttpRequest4 {
public:
    explicit Request(RequestState* rs);
    void init(const ScriptRequest* sr);

    HTTP_REQUEST* GetRawHttpRequest() override;
    const HTTP_REQUEST* GetRawHttpRequest() const override;
    PCSTR GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const override;
    PCSTR GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue) const override;
    HRESULT SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) override;
    HRESULT SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) override;
    HRESULT DeleteHeader(PCSTR pszHeaderName) override;
    HRESULT DeleteHeader(HTTP_HEADER_ID ulHeaderIndex) override;
    PCSTR GetHttpMethod() const override;
    HRESULT SetHttpMethod(PCSTR pszHttpMethod) override;
    HRESULT SetUrl(PCWSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString) override;
    HRESULT SetUrl(PCSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString) override;
    BOOL GetUrlChanged() const override;
    PCWSTR GetForwardedUrl() const override;
    PSOCKADDR GetLocalAddress() const override;
    PSOCKADDR GetRemoteAddress() const override;
    HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, DWORD* pcbBytesReceived, BOOL* pfCompletionPending) override;
    HRESULT InsertEntityBody(VOID* pvBuffer, DWORD cbBuffer) override;
    DWORD GetRemainingEntityBytes() override;
    VOID GetHttpVersion(USHORT* pMajorVersion, USHORT* pMinorVersion) const override;
    HRESULT GetClientCertificate(HTTP_SSL_CLIENT_CERT_INFO** ppClientCertInfo, BOOL* pfClientCertNegotiated) override;
    HRESULT NegotiateClientCertificate(BOOL fAsync, BOOL* pfCompletionPending) override;
    DWORD GetSiteId() const override;
    HRESULT GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderRequestMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderRequestMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices) override;
    HRESULT GetChannelBindingToken(PBYTE* ppToken, DWORD* pTokenSize) override;
    HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbBytesReceived, BOOL* pfCompletionPending) override;
    HRESULT ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, ULONG ulFlags, DWORD* pcbBytesReceived, BOOL* pfCompletionPending) override;

    // The cooked URL's parts (UTF-16, NUL-terminated, in the arena).
    const wchar_t* path() const { return path_; }
    DWORD path_len() const { return path_len_; }
    const wchar_t* query() const { return query_; }       // without '?', "" when none
    DWORD query_len() const { return query_len_; }
    const wchar_t* host() const { return host_; }
    const char* method() const;

    unsigned tag;
    HTTP_REQUEST raw;
    HeaderTable headers;

private:
    HRESULT read_body(const char* what, VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, DWORD* pcbBytesReceived, BOOL* pfCompletionPending);
    // Rebuilds the cooked URL from a path (decoded) and a query (without '?').
    void set_cooked(const wchar_t* path, DWORD path_len, const wchar_t* query, DWORD query_len);
    HRESULT set_url(const wchar_t* url, DWORD len, BOOL reset_query, const char* what);

    RequestState* rs_;
    SOCKADDR_IN local_;
    SOCKADDR_IN remote_;
    char* method_;
    wchar_t* path_;
    DWORD path_len_;
    wchar_t* query_;
    DWORD query_len_;
    wchar_t* host_;
    bool url_changed_;
    // The entity body: what the client sends, and what InsertEntityBody put in front of it.
    const BYTE* body_;
    DWORD body_len_;
    DWORD body_read_;
    BYTE* inserted_;
    DWORD inserted_len_;
    DWORD inserted_read_;
};

class Response : public IHttpResponse4 {
public:
    explicit Response(RequestState* rs);
    ~Response();

    HTTP_RESPONSE* GetRawHttpResponse() override;
    const HTTP_RESPONSE* GetRawHttpResponse() const override;
    IHttpCachePolicy* GetCachePolicy() override;
    HRESULT SetStatus(USHORT statusCode, PCSTR pszReason, USHORT uSubStatus, HRESULT hrErrorToReport, IAppHostConfigException* pException, BOOL fTrySkipCustomErrors) override;
    HRESULT SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) override;
    HRESULT SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) override;
    HRESULT DeleteHeader(PCSTR pszHeaderName) override;
    HRESULT DeleteHeader(HTTP_HEADER_ID ulHeaderIndex) override;
    PCSTR GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const override;
    PCSTR GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue) const override;
    VOID Clear() override;
    VOID ClearHeaders() override;
    VOID SetNeedDisconnect() override;
    VOID ResetConnection() override;
    VOID DisableKernelCache(ULONG reason) override;
    BOOL GetKernelCacheEnabled() const override;
    VOID SuppressHeaders() override;
    BOOL GetHeadersSuppressed() const override;
    HRESULT Flush(BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected) override;
    HRESULT Redirect(PCSTR pszUrl, BOOL fResetStatusCode, BOOL fIncludeParameters) override;
    HRESULT WriteEntityChunkByReference(HTTP_DATA_CHUNK* pDataChunk, LONG lInsertPosition) override;
    HRESULT WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected) override;
    VOID DisableBuffering() override;
    VOID GetStatus(USHORT* pStatusCode, USHORT* pSubStatus, PCSTR* ppszReason, USHORT* pcchReason, HRESULT* phrErrorToReport, PCWSTR* ppszModule, DWORD* pdwNotification, IAppHostConfigException** ppException, BOOL* pfTrySkipCustomErrors) override;
    HRESULT SetErrorDescription(PCWSTR pszDescription, DWORD cchDescription, BOOL fHtmlEncode) override;
    PCWSTR GetErrorDescription(DWORD* pcchDescription) override;
    HRESULT GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderResponseMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderResponseMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices) override;
    VOID CloseConnection() override;
    HRESULT WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected) override;
    HRESULT Flush(BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected) override;
    HRESULT PushPromise(PCSTR pszVerb, PCWSTR pwszPath, PCWSTR pwszQuery, DWORD cHeaders, PCSTR* rgHeaderNames, PCSTR* rgHeaderValues) override;
    HRESULT DeleteTrailer(PCSTR pszHeaderName) override;
    PCSTR GetTrailer(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const override;
    VOID ResetStream(ULONG errorCode) override;
    VOID SetNeedGoAway() override;
    HRESULT SetTrailer(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace) override;

    // Sets the status without recording a module call (the simulator's own errors).
    void set_status(USHORT code, const char* reason, USHORT substatus, HRESULT hr);
    // Sends what is buffered: fires RQ_SEND_RESPONSE, then moves the buffered chunks to the
    // sent bytes. `final` is the end-of-pipeline send; otherwise it is a flush.
    DWORD send(bool final, bool more_data);
    // Prints the response block of the transcript.
    void print(unsigned number) const;

    unsigned tag;
    HTTP_RESPONSE raw;
    HeaderTable headers;
    UnknownList trailers;
    CachePolicy cache;
    Bytes sent;                  // every entity byte sent so far (flushes and the final send)
    bool headers_sent;
    bool final_sent;
    bool suppressed;
    bool buffering_disabled;
    bool kernel_cache_disabled;
    ULONG kernel_cache_reason;
    bool need_disconnect;
    bool reset;
    bool closed;
    bool need_goaway;
    ULONG reset_stream;
    USHORT substatus;
    HRESULT error_to_report;
    BOOL skip_custom_errors;
    const wchar_t* status_module;
    DWORD status_notification;
    wchar_t* error_description;
    DWORD error_description_len;
    DWORD flushes;

private:
    HRESULT write_chunks(const char* what, HTTP_DATA_CHUNK* chunks, DWORD count, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected);
    HRESULT flush(const char* what, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected);
    void adopt_chunks();
    void insert_chunk(const HTTP_DATA_CHUNK& chunk, LONG position);
    const char* header_name_or_id(unsigned id) const;

    RequestState* rs_;
    Vec<HTTP_DATA_CHUNK> chunks_;   // the buffered entity; raw.pEntityChunks points here
};

class Context : public IHttpContext4 {
public:
    explicit Context(RequestState* rs) : tag(TAG_CONTEXT), rs_(rs) {}

    IHttpSite* GetSite() override;
    IHttpApplication* GetApplication() override;
    IHttpConnection* GetConnection() override;
    IHttpRequest* GetRequest() override;
    IHttpResponse* GetResponse() override;
    BOOL GetResponseHeadersSent() const override;
    IHttpUser* GetUser() const override;
    IHttpModuleContextContainer* GetModuleContextContainer() override;
    VOID IndicateCompletion(REQUEST_NOTIFICATION_STATUS notificationStatus) override;
    HRESULT PostCompletion(DWORD cbBytes) override;
    VOID DisableNotifications(DWORD dwNotifications, DWORD dwPostNotifications) override;
    BOOL GetNextNotification(REQUEST_NOTIFICATION_STATUS status, DWORD* pdwNotification, BOOL* pfIsPostNotification, CHttpModule** ppModuleInfo, IHttpEventProvider** ppRequestOutput) override;
    BOOL GetIsLastNotification(REQUEST_NOTIFICATION_STATUS status) override;
    HRESULT ExecuteRequest(BOOL fAsync, IHttpContext* pHttpContext, DWORD dwExecuteFlags, IHttpUser* pHttpUser, BOOL* pfCompletionExpected) override;
    DWORD GetExecuteFlags() const override;
    HRESULT GetServerVariable(PCSTR pszVariableName, PCWSTR* ppszValue, DWORD* pcchValueLength) override;
    HRESULT GetServerVariable(PCSTR pszVariableName, PCSTR* ppszValue, DWORD* pcchValueLength) override;
    HRESULT SetServerVariable(PCSTR pszVariableName, PCWSTR pszVariableValue) override;
    VOID* AllocateRequestMemory(DWORD cbAllocation) override;
    IHttpUrlInfo* GetUrlInfo() override;
    IMetadataInfo* GetMetadata() override;
    PCWSTR GetPhysicalPath(DWORD* pcchPhysicalPath) override;
    PCWSTR GetScriptName(DWORD* pcchScriptName) const override;
    PCWSTR GetScriptTranslated(DWORD* pcchScriptTranslated) override;
    IScriptMapInfo* GetScriptMap() const override;
    VOID SetRequestHandled() override;
    IHttpFileInfo* GetFileInfo() const override;
    HRESULT MapPath(PCWSTR pszUrl, PWSTR pszPhysicalPath, DWORD* pcbPhysicalPath) override;
    HRESULT NotifyCustomNotification(ICustomNotificationProvider* pCustomOutput, BOOL* pfCompletionExpected) override;
    IHttpContext* GetParentContext() const override;
    IHttpContext* GetRootContext() const override;
    HRESULT CloneContext(DWORD dwCloneFlags, IHttpContext** ppHttpContext) override;
    HRESULT ReleaseClonedContext() override;
    HRESULT GetCurrentExecutionStats(DWORD* pdwNotification, DWORD* pdwNotificationStartTickCount, PCWSTR* ppszModule, DWORD* pdwModuleStartTickCount, DWORD* pdwAsyncNotification, DWORD* pdwAsyncNotificationStartTickCount) const override;
    IHttpTraceContext* GetTraceContext() const override;
    HRESULT GetServerVarChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, DWORD* pdwVariableSnapshot, PCSTR** ppVariableNameSnapshot, PCWSTR** ppVariableValueSnapshot, DWORD* pdwDiffedVariables, DWORD** ppDiffedVariableIndices) override;
    HRESULT CancelIo() override;
    HRESULT MapHandler(DWORD dwSiteId, PCWSTR pszSiteName, PCWSTR pszUrl, PCSTR pszVerb, IScriptMapInfo** ppScriptMap, BOOL fIgnoreWildcardMappings) override;
    HRESULT GetExtendedInterface(HTTP_CONTEXT_INTERFACE_VERSION version, PVOID* ppInterface) override;
    IHttpUser* GetOriginalUser() const override;
    INamedContextContainer* GetNamedContextContainer() override;
    VOID EnableFullDuplex() override;
    HRESULT InheritServerVariable(PCSTR szName, BOOL fFailIfNotExist) override;
    HRESULT PostCompletion(DWORD cbBytes, LPOVERLAPPED_COMPLETION_ROUTINE pfnCompletionRoutine, VOID* pvCompletionContext) override;
    ULONGLONG GetRequestStartTime() override;
    ULONGLONG GetRequestElapsedTime() override;

    unsigned tag;

private:
    RequestState* rs_;
};

// A variable set with SetServerVariable.
struct ServerVariable {
    char* name;
    wchar_t* value;
    DWORD len;
};

// Everything one request owns. Modules get pointers to its members; it is freed only some
// requests after it ended (see Sim::retired), so late calls are caught, not crashes.
class RequestState : public Owner {
public:
    RequestState(unsigned number, const ScriptRequest* sr);
    ~RequestState();

    // Request memory (AllocateRequestMemory, IModuleAllocator, IHttpConnection::AllocateMemory):
    // real heap blocks freed when the request ends; counted for the summary.
    void* allocate_request_memory(DWORD bytes);
    void free_request_memory();

    // The request's physical path (fires RQ_MAP_PATH the first time, or after SetUrl).
    const wchar_t* physical_path(DWORD* len);
    // Maps a URL below the site root; fires RQ_MAP_PATH unless already inside it.
    wchar_t* map_url(const wchar_t* url, DWORD url_len, DWORD* out_len);
    // Looks a server variable up; false when unknown.
    bool server_variable(const char* name, const wchar_t** value, DWORD* len);
    void set_error_status(HRESULT hr, const char* what);

    const ScriptRequest* script;
    Arena arena;
    Context context;
    Request request;
    Response response;
    Connection connection;
    UrlInfo url_info;
    Metadata metadata;
    ScriptMap script_map;
    User script_user;
    IHttpUser* user;             // GetUser: the scripted user, or the one SetUser gave
    ModuleContextContainer container;
    NamedContextContainer named;
    TraceContext trace;
    ModuleAllocator allocator;
    CompletionInfo completion;
    EventProvider event_provider;
    AuthenticationProvider auth_provider;
    MapHandlerProvider map_handler_provider;
    MapPathProvider map_path_provider;
    SendResponseProvider send_provider;
    ReadEntityProvider read_entity_provider;
    PreBeginRequestProvider pre_begin_provider;

    CHttpModule* module;
    bool disposed;
    // The notification being delivered (GetCurrentExecutionStats, GetStatus).
    DWORD notification;
    bool post;
    DWORD notification_start;
    bool in_send;
    bool in_map_path;
    bool in_read_entity;
    // IndicateCompletion and PostCompletion calls during the current notification.
    bool indicated;
    REQUEST_NOTIFICATION_STATUS indicated_status;
    bool completion_posted;
    DWORD completion_bytes;
    DWORD disabled_mask;
    DWORD disabled_post_mask;
    Vec<ServerVariable> variables;
    wchar_t* physical;
    DWORD physical_len;
    wchar_t* script_name;
    DWORD script_name_len;
    HRESULT error_status;
    bool handled;
    ULONGLONG start_tick;

private:
    struct Block {
        Block* next;
    };
    Block* memory_;
};

#endif
