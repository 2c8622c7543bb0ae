// request.cpp: IHttpRequest4 over a real HTTP_REQUEST, and the header tables shared with the
// response.
#include "pipeline.h"
#include "server.h"

// ---------------------------------------------------------------------------------------------
// Known header names, by HTTP_HEADER_ID. Ids 0-19 are shared; 20 and up differ by direction.

static const char* const s_general_headers[20] = {
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer", "Transfer-Encoding",
    "Upgrade", "Via", "Warning", "Allow", "Content-Length", "Content-Type", "Content-Encoding",
    "Content-Language", "Content-Location", "Content-MD5", "Content-Range", "Expires", "Last-Modified",
};

static const char* const s_request_headers[21] = {
    "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization", "Cookie", "Expect",
    "From", "Host", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range", "If-Unmodified-Since",
    "Max-Forwards", "Proxy-Authorization", "Referer", "Range", "TE", "Translate", "User-Agent",
};

static const char* const s_response_headers[10] = {
    "Accept-Ranges", "Age", "ETag", "Location", "Proxy-Authenticate", "Retry-After", "Server",
    "Set-Cookie", "Vary", "WWW-Authenticate",
};

const char* known_header_name(unsigned id, bool response)
{
    if (id < 20) {
        return s_general_headers[id];
    }
    if (response) {
        return id < 30 ? s_response_headers[id - 20] : 0;
    }
    return id < 41 ? s_request_headers[id - 20] : 0;
}

static bool ieq_counted(const char* a, size_t alen, const char* b, size_t blen)
{
    if (alen != blen) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
        if (x != y) {
            return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// UnknownList and HeaderTable.

void UnknownList::bind(USHORT* c, PHTTP_UNKNOWN_HEADER* a, Arena* ar)
{
    count = c;
    array = a;
    mine = 0;
    cap = 0;
    arena = ar;
    *c = 0;
    *a = 0;
}

void UnknownList::own(unsigned need)
{
    if (*array == mine && need <= cap) {
        return;
    }
    unsigned nc = cap ? cap : 8;
    while (nc < need) {
        nc *= 2;
    }
    HTTP_UNKNOWN_HEADER* n = static_cast<HTTP_UNKNOWN_HEADER*>(arena->alloc(nc * sizeof(HTTP_UNKNOWN_HEADER)));
    if (*count && *array) {
        memcpy(n, *array, *count * sizeof(HTTP_UNKNOWN_HEADER));
    }
    mine = n;
    cap = nc;
    *array = n;
}

int UnknownList::find(const char* name, size_t name_len, int from) const
{
    for (int i = from; i < (int)*count; i++) {
        const HTTP_UNKNOWN_HEADER& h = (*array)[i];
        if (ieq_counted(h.pName, h.NameLength, name, name_len)) {
            return i;
        }
    }
    return -1;
}

void UnknownList::add(const char* name, size_t name_len, const char* value, size_t value_len)
{
    own((unsigned)*count + 1);
    HTTP_UNKNOWN_HEADER& h = (*array)[*count];
    h.pName = arena->dup(name, name_len);
    h.NameLength = (USHORT)name_len;
    h.pRawValue = arena->dup(value, value_len);
    h.RawValueLength = (USHORT)value_len;
    (*count)++;
}

void UnknownList::remove(int index)
{
    own(*count);
    memmove(&(*array)[index], &(*array)[index + 1], (*count - index - 1) * sizeof(HTTP_UNKNOWN_HEADER));
    (*count)--;
}

void HeaderTable::bind(HTTP_KNOWN_HEADER* k, unsigned count, bool is_response, USHORT* unknown_count, PHTTP_UNKNOWN_HEADER* unknown_array, Arena* ar)
{
    known = k;
    known_count = count;
    response = is_response;
    arena = ar;
    memset(k, 0, count * sizeof(HTTP_KNOWN_HEADER));
    unknown.bind(unknown_count, unknown_array, ar);
}

int HeaderTable::id_of(const char* name, size_t len) const
{
    for (unsigned id = 0; id < known_count; id++) {
        const char* n = known_header_name(id, response);
        if (ieq_counted(n, strlen(n), name, len)) {
            return (int)id;
        }
    }
    return -1;
}

PCSTR HeaderTable::get(unsigned id, USHORT* len) const
{
    if (id < known_count && known[id].pRawValue) {
        if (len) {
            *len = known[id].RawValueLength;
        }
        return known[id].pRawValue;
    }
    if (len) {
        *len = 0;
    }
    return 0;
}

PCSTR HeaderTable::get(const char* name, USHORT* len) const
{
    size_t nl = strlen(name);
    int id = id_of(name, nl);
    if (id >= 0) {
        PCSTR v = get((unsigned)id, len);
        if (v) {
            return v;
        }
    }
    int i = unknown.find(name, nl);
    if (i >= 0) {
        const HTTP_UNKNOWN_HEADER& h = (*unknown.array)[i];
        if (len) {
            *len = h.RawValueLength;
        }
        return h.pRawValue;
    }
    if (len) {
        *len = 0;
    }
    return 0;
}

HRESULT HeaderTable::set(unsigned id, const char* value, size_t len, BOOL replace)
{
    if (id >= known_count || !value) {
        return E_INVALIDARG;
    }
    HTTP_KNOWN_HEADER& k = known[id];
    const char* name = known_header_name(id, response);
    if (!k.pRawValue || replace) {
        k.pRawValue = arena->dup(value, len);
        k.RawValueLength = (USHORT)len;
        // Replacing a response header replaces its extra lines too.
        int i;
        while ((i = unknown.find(name, strlen(name))) >= 0) {
            unknown.remove(i);
        }
    } else if (response) {
        unknown.add(name, strlen(name), value, len);
    } else {
        size_t total = k.RawValueLength + 1 + len;
        if (total > 0xFFFF) {
            return E_INVALIDARG;
        }
        char* joined = static_cast<char*>(arena->alloc(total + 1));
        memcpy(joined, k.pRawValue, k.RawValueLength);
        joined[k.RawValueLength] = ',';
        memcpy(joined + k.RawValueLength + 1, value, len);
        joined[total] = 0;
        k.pRawValue = joined;
        k.RawValueLength = (USHORT)total;
    }
    return S_OK;
}

HRESULT HeaderTable::set(const char* name, const char* value, size_t len, BOOL replace)
{
    if (!name || !*name || !value || strchr(name, ':')) {
        return E_INVALIDARG;
    }
    size_t nl = strlen(name);
    if (nl > 0xFFFF) {
        return E_INVALIDARG;
    }
    int id = id_of(name, nl);
    if (id >= 0) {
        return set((unsigned)id, value, len, replace);
    }
    int existing = unknown.find(name, nl);
    if (existing >= 0 && replace) {
        while ((existing = unknown.find(name, nl)) >= 0) {
            unknown.remove(existing);
        }
    } else if (existing >= 0 && !response) {
        HTTP_UNKNOWN_HEADER& h = (*unknown.array)[existing];
        size_t total = h.RawValueLength + 1 + len;
        if (total > 0xFFFF) {
            return E_INVALIDARG;
        }
        unknown.own(*unknown.count);
        HTTP_UNKNOWN_HEADER& hh = (*unknown.array)[existing];
        char* joined = static_cast<char*>(arena->alloc(total + 1));
        memcpy(joined, hh.pRawValue, hh.RawValueLength);
        joined[hh.RawValueLength] = ',';
        memcpy(joined + hh.RawValueLength + 1, value, len);
        joined[total] = 0;
        hh.pRawValue = joined;
        hh.RawValueLength = (USHORT)total;
        return S_OK;
    }
    unknown.add(name, nl, value, len);
    return S_OK;
}

HRESULT HeaderTable::remove(unsigned id)
{
    if (id >= known_count) {
        return E_INVALIDARG;
    }
    known[id].pRawValue = 0;
    known[id].RawValueLength = 0;
    const char* name = known_header_name(id, response);
    int i;
    while ((i = unknown.find(name, strlen(name))) >= 0) {
        unknown.remove(i);
    }
    return S_OK;
}

HRESULT HeaderTable::remove(const char* name)
{
    if (!name || !*name) {
        return E_INVALIDARG;
    }
    size_t nl = strlen(name);
    int id = id_of(name, nl);
    if (id >= 0) {
        return remove((unsigned)id);
    }
    int i;
    while ((i = unknown.find(name, nl)) >= 0) {
        unknown.remove(i);
    }
    return S_OK;
}

void HeaderTable::clear()
{
    memset(known, 0, known_count * sizeof(HTTP_KNOWN_HEADER));
    *unknown.count = 0;
}

// ---------------------------------------------------------------------------------------------
// Verbs.

static const char* const s_verbs[] = {
    "", 0, "", "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "TRACK",
    "MOVE", "COPY", "PROPFIND", "PROPPATCH", "MKCOL", "LOCK", "UNLOCK", "SEARCH",
};

static HTTP_VERB verb_of(const char* m)
{
    for (int v = HttpVerbOPTIONS; v < HttpVerbMaximum; v++) {
        if (strcmp(m, s_verbs[v]) == 0) {
            return (HTTP_VERB)v;
        }
    }
    return HttpVerbUnknown;
}

// ---------------------------------------------------------------------------------------------
// Request.

Request::Request(RequestState* rs)
    : tag(TAG_REQUEST), raw(), headers(), rs_(rs), local_(), remote_(), method_(0), path_(0), path_len_(0),
      query_(0), query_len_(0), host_(0), url_changed_(false), body_(0), body_len_(0),
      body_read_(0), inserted_(0), inserted_len_(0), inserted_read_(0)
{
}

static void fill_address(SOCKADDR_IN* sa, DWORD ip, USHORT port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    unsigned char* p = reinterpret_cast<unsigned char*>(&sa->sin_port);
    p[0] = (unsigned char)(port >> 8);
    p[1] = (unsigned char)port;
    unsigned char* a = reinterpret_cast<unsigned char*>(&sa->sin_addr);
    a[0] = (unsigned char)(ip >> 24);
    a[1] = (unsigned char)(ip >> 16);
    a[2] = (unsigned char)(ip >> 8);
    a[3] = (unsigned char)ip;
}

static int hex_digit(wchar_t c)
{
    if (c >= L'0' && c <= L'9') return c - L'0';
    if (c >= L'a' && c <= L'f') return c - L'a' + 10;
    if (c >= L'A' && c <= L'F') return c - L'A' + 10;
    return -1;
}

// Percent-decodes a URL path: %XX sequences are UTF-8 bytes (as HTTP.sys decodes the cooked
// URL); anything else is kept. Returns UTF-16 in the arena.
static wchar_t* decode_path(Arena& arena, const wchar_t* s, DWORD n, DWORD* out_len)
{
    char* bytes = static_cast<char*>(arena.alloc((size_t)n * 3 + 1));
    size_t at = 0;
    for (DWORD i = 0; i < n; i++) {
        if (s[i] == L'%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            bytes[at++] = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 2;
        } else if (s[i] < 0x80) {
            bytes[at++] = (char)s[i];
        } else {
            // Already a character: re-encode it so the whole path decodes as UTF-8 below.
            at += (size_t)WideCharToMultiByte(CP_UTF8, 0, s + i, 1, bytes + at, 3, NULL, NULL);
        }
    }
    return arena.widen(bytes, at, out_len);
}

void Request::init(const ScriptRequest* sr)
{
    Arena& a = rs_->arena;
    headers.bind(raw.Headers.KnownHeaders, HttpHeaderRequestMaximum, false, &raw.Headers.UnknownHeaderCount,
                 &raw.Headers.pUnknownHeaders, &a);
    for (unsigned i = 0; i < sr->headers.n; i++) {
        const ScriptHeader& h = sr->headers.p[i];
        headers.set(h.name, h.value, strlen(h.value), FALSE);
    }
    raw.ConnectionId = rs_->request_number;
    raw.RequestId = rs_->request_number;
    raw.RawConnectionId = rs_->request_number;
    raw.Version.MajorVersion = sr->major;
    raw.Version.MinorVersion = sr->minor;
    method_ = a.dup(sr->method);
    raw.Verb = verb_of(method_);
    if (raw.Verb == HttpVerbUnknown) {
        raw.pUnknownVerb = method_;
        raw.UnknownVerbLength = (USHORT)strlen(method_);
    }
    raw.pRawUrl = a.dup(sr->url);
    raw.RawUrlLength = (USHORT)strlen(sr->url);
    fill_address(&local_, sr->local_ip, sr->local_port);
    fill_address(&remote_, sr->remote_ip, sr->remote_port);
    raw.Address.pLocalAddress = reinterpret_cast<PSOCKADDR>(&local_);
    raw.Address.pRemoteAddress = reinterpret_cast<PSOCKADDR>(&remote_);
    body_ = sr->body.p;
    body_len_ = (DWORD)sr->body.n;
    if (body_len_) {
        raw.Flags |= HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS;
    }

    USHORT hl = 0;
    const char* host = headers.get((unsigned)HttpHeaderHost, &hl);
    DWORD whl = 0;
    host_ = host ? a.widen(host, hl, &whl) : a.wdup(L"localhost");

    DWORD ul = 0;
    const wchar_t* url = a.widen(sr->url, strlen(sr->url), &ul);
    DWORD q = 0;
    while (q < ul && url[q] != L'?') {
        q++;
    }
    DWORD pl = 0;
    wchar_t* path = decode_path(a, url, q, &pl);
    const wchar_t* query = q < ul ? url + q + 1 : L"";
    DWORD ql = q < ul ? ul - q - 1 : 0;
    set_cooked(path, pl, query, ql);
}

void Request::set_cooked(const wchar_t* path, DWORD path_len, const wchar_t* query, DWORD query_len)
{
    Arena& a = rs_->arena;
    size_t hl = wcslen(host_);
    size_t total = 7 + hl + path_len + (query_len ? 1 + query_len : 0);
    wchar_t* full = static_cast<wchar_t*>(a.alloc((total + 1) * sizeof(wchar_t)));
    size_t at = 0;
    memcpy(full, L"http://", 7 * sizeof(wchar_t));
    at = 7;
    memcpy(full + at, host_, hl * sizeof(wchar_t));
    at += hl;
    memcpy(full + at, path, path_len * sizeof(wchar_t));
    at += path_len;
    if (query_len) {
        full[at++] = L'?';
        memcpy(full + at, query, query_len * sizeof(wchar_t));
        at += query_len;
    }
    full[at] = 0;
    HTTP_COOKED_URL& c = raw.CookedUrl;
    c.pFullUrl = full;
    c.FullUrlLength = (USHORT)(total * sizeof(wchar_t));
    c.pHost = full + 7;
    c.HostLength = (USHORT)(hl * sizeof(wchar_t));
    c.pAbsPath = full + 7 + hl;
    c.AbsPathLength = (USHORT)(path_len * sizeof(wchar_t));
    c.pQueryString = query_len ? full + 7 + hl + path_len : 0;
    c.QueryStringLength = (USHORT)(query_len ? (query_len + 1) * sizeof(wchar_t) : 0);
    path_ = a.wdup(path, path_len);
    path_len_ = path_len;
    query_ = a.wdup(query, query_len);
    query_len_ = query_len;
}

const char* Request::method() const
{
    // From the raw structure, so that a module editing Verb directly is honoured.
    if (raw.Verb == HttpVerbUnknown) {
        return raw.pUnknownVerb ? raw.pUnknownVerb : "";
    }
    if (raw.Verb > HttpVerbUnknown && raw.Verb < HttpVerbMaximum) {
        return s_verbs[raw.Verb];
    }
    return "";
}

HTTP_REQUEST* Request::GetRawHttpRequest()
{
    track(rs_, "IHttpRequest::GetRawHttpRequest");
    TX("call IHttpRequest::GetRawHttpRequest -> HTTP_REQUEST");
    return &raw;
}

const HTTP_REQUEST* Request::GetRawHttpRequest() const
{
    track(rs_, "IHttpRequest::GetRawHttpRequest");
    TX("call IHttpRequest::GetRawHttpRequest const -> HTTP_REQUEST");
    return &raw;
}

PCSTR Request::GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const
{
    track(rs_, "IHttpRequest::GetHeader");
    USHORT len = 0;
    PCSTR v = pszHeaderName ? headers.get(pszHeaderName, &len) : 0;
    if (pcchHeaderValue) {
        *pcchHeaderValue = len;
    }
    TX("call IHttpRequest::GetHeader(%s) -> %s", qa(pszHeaderName), qa(v, len));
    return v;
}

PCSTR Request::GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue) const
{
    track(rs_, "IHttpRequest::GetHeader");
    USHORT len = 0;
    PCSTR v = headers.get((unsigned)ulHeaderIndex, &len);
    if (pcchHeaderValue) {
        *pcchHeaderValue = len;
    }
    const char* n = known_header_name((unsigned)ulHeaderIndex, false);
    TX("call IHttpRequest::GetHeader(#%u %s) -> %s", (unsigned)ulHeaderIndex, n ? n : "invalid", qa(v, len));
    return v;
}

HRESULT Request::SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace)
{
    track(rs_, "IHttpRequest::SetHeader");
    HRESULT hr = headers.set(pszHeaderName, pszHeaderValue, cchHeaderValue, fReplace);
    TX("call IHttpRequest::SetHeader(%s, %s, replace=%s) -> %s", qa(pszHeaderName), qa(pszHeaderValue, pszHeaderValue ? cchHeaderValue : -1),
       bool_name(fReplace), hr_name(hr));
    return hr;
}

HRESULT Request::SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace)
{
    track(rs_, "IHttpRequest::SetHeader");
    HRESULT hr = headers.set((unsigned)ulHeaderIndex, pszHeaderValue, cchHeaderValue, fReplace);
    const char* n = known_header_name((unsigned)ulHeaderIndex, false);
    TX("call IHttpRequest::SetHeader(#%u %s, %s, replace=%s) -> %s", (unsigned)ulHeaderIndex, n ? n : "invalid",
       qa(pszHeaderValue, pszHeaderValue ? cchHeaderValue : -1), bool_name(fReplace), hr_name(hr));
    return hr;
}

HRESULT Request::DeleteHeader(PCSTR pszHeaderName)
{
    track(rs_, "IHttpRequest::DeleteHeader");
    HRESULT hr = headers.remove(pszHeaderName);
    TX("call IHttpRequest::DeleteHeader(%s) -> %s", qa(pszHeaderName), hr_name(hr));
    return hr;
}

HRESULT Request::DeleteHeader(HTTP_HEADER_ID ulHeaderIndex)
{
    track(rs_, "IHttpRequest::DeleteHeader");
    HRESULT hr = headers.remove((unsigned)ulHeaderIndex);
    const char* n = known_header_name((unsigned)ulHeaderIndex, false);
    TX("call IHttpRequest::DeleteHeader(#%u %s) -> %s", (unsigned)ulHeaderIndex, n ? n : "invalid", hr_name(hr));
    return hr;
}

PCSTR Request::GetHttpMethod() const
{
    track(rs_, "IHttpRequest::GetHttpMethod");
    const char* m = method();
    TX("call IHttpRequest::GetHttpMethod -> %s", qa(m));
    return m;
}

HRESULT Request::SetHttpMethod(PCSTR pszHttpMethod)
{
    track(rs_, "IHttpRequest::SetHttpMethod");
    if (!pszHttpMethod || !*pszHttpMethod) {
        TX("call IHttpRequest::SetHttpMethod(%s) -> E_INVALIDARG", qa(pszHttpMethod));
        return E_INVALIDARG;
    }
    method_ = rs_->arena.dup(pszHttpMethod);
    raw.Verb = verb_of(method_);
    raw.pUnknownVerb = raw.Verb == HttpVerbUnknown ? method_ : 0;
    raw.UnknownVerbLength = raw.Verb == HttpVerbUnknown ? (USHORT)strlen(method_) : 0;
    TX("call IHttpRequest::SetHttpMethod(%s) -> S_OK", qa(pszHttpMethod));
    return S_OK;
}

HRESULT Request::set_url(const wchar_t* url, DWORD len, BOOL reset_query, const char* what)
{
    if (!url || !len || url[0] != L'/') {
        TX("call %s(%s, reset-query=%s) -> E_INVALIDARG", what, qw(url, url ? (long)len : -1), bool_name(reset_query));
        return E_INVALIDARG;
    }
    DWORD q = 0;
    while (q < len && url[q] != L'?') {
        q++;
    }
    DWORD pl = 0;
    wchar_t* path = decode_path(rs_->arena, url, q, &pl);
    const wchar_t* query;
    DWORD ql;
    if (q < len) {
        // The new URL brings its own query string.
        query = url + q + 1;
        ql = len - q - 1;
    } else if (reset_query) {
        query = L"";
        ql = 0;
    } else {
        query = rs_->arena.wdup(query_, query_len_);
        ql = query_len_;
    }
    set_cooked(path, pl, query, ql);
    url_changed_ = true;
    // The physical path and script name follow the URL.
    rs_->physical = 0;
    rs_->script_name = 0;
    TX("call %s(%s, reset-query=%s) -> S_OK", what, qw(url, (long)len), bool_name(reset_query));
    return S_OK;
}

HRESULT Request::SetUrl(PCWSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString)
{
    track(rs_, "IHttpRequest::SetUrl");
    return set_url(pszUrl, pszUrl && !cchUrl ? (DWORD)wcslen(pszUrl) : cchUrl, fResetQueryString, "IHttpRequest::SetUrl");
}

HRESULT Request::SetUrl(PCSTR pszUrl, DWORD cchUrl, BOOL fResetQueryString)
{
    track(rs_, "IHttpRequest::SetUrl");
    if (!pszUrl) {
        TX("call IHttpRequest::SetUrl(NULL) -> E_INVALIDARG");
        return E_INVALIDARG;
    }
    DWORD wl = 0;
    const wchar_t* w = rs_->arena.widen(pszUrl, cchUrl ? cchUrl : strlen(pszUrl), &wl);
    return set_url(w, wl, fResetQueryString, "IHttpRequest::SetUrl");
}

BOOL Request::GetUrlChanged() const
{
    track(rs_, "IHttpRequest::GetUrlChanged");
    TX("call IHttpRequest::GetUrlChanged -> %s", bool_name(url_changed_));
    return url_changed_ ? TRUE : FALSE;
}

PCWSTR Request::GetForwardedUrl() const
{
    track(rs_, "IHttpRequest::GetForwardedUrl");
    // No proxying module (ARR) forwards requests in the simulator.
    TX("call IHttpRequest::GetForwardedUrl -> NULL");
    return 0;
}

PSOCKADDR Request::GetLocalAddress() const
{
    track(rs_, "IHttpRequest::GetLocalAddress");
    TX("call IHttpRequest::GetLocalAddress -> sockaddr_in");
    return raw.Address.pLocalAddress;
}

PSOCKADDR Request::GetRemoteAddress() const
{
    track(rs_, "IHttpRequest::GetRemoteAddress");
    TX("call IHttpRequest::GetRemoteAddress -> sockaddr_in");
    return raw.Address.pRemoteAddress;
}

HRESULT Request::read_body(const char* what, VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, DWORD* pcbBytesReceived, BOOL* pfCompletionPending)
{
    // Every read completes at once, asynchronous or not: the body is already here.
    if (pfCompletionPending) {
        *pfCompletionPending = FALSE;
    }
    if (!pcbBytesReceived || (!pvBuffer && cbBuffer)) {
        TX("call %s(%lu bytes, async=%s) -> E_INVALIDARG", what, (unsigned long)cbBuffer, bool_name(fAsync));
        return E_INVALIDARG;
    }
    *pcbBytesReceived = 0;
    // What InsertEntityBody put back comes first.
    if (inserted_read_ < inserted_len_) {
        DWORD n = inserted_len_ - inserted_read_;
        if (n > cbBuffer) {
            n = cbBuffer;
        }
        memcpy(pvBuffer, inserted_ + inserted_read_, n);
        inserted_read_ += n;
        *pcbBytesReceived = n;
        TX("call %s(%lu bytes, async=%s) -> S_OK, %lu bytes (inserted entity)", what, (unsigned long)cbBuffer, bool_name(fAsync), (unsigned long)n);
        return S_OK;
    }
    if (body_read_ >= body_len_) {
        HRESULT hr = HRESULT_FROM_WIN32(ERROR_HANDLE_EOF);
        TX("call %s(%lu bytes, async=%s) -> %s", what, (unsigned long)cbBuffer, bool_name(fAsync), hr_name(hr));
        return hr;
    }
    DWORD n = body_len_ - body_read_;
    if (n > cbBuffer) {
        n = cbBuffer;
    }
    memcpy(pvBuffer, body_ + body_read_, n);
    body_read_ += n;
    raw.BytesReceived += n;
    if (body_read_ >= body_len_) {
        raw.Flags &= ~HTTP_REQUEST_FLAG_MORE_ENTITY_BODY_EXISTS;
    }
    TX("call %s(%lu bytes, async=%s) -> S_OK, %lu bytes", what, (unsigned long)cbBuffer, bool_name(fAsync), (unsigned long)n);
    // The data arrived from the client: RQ_READ_ENTITY may look at it and replace it.
    if (!rs_->in_read_entity && rs_->module && (g.reg.request_mask & RQ_READ_ENTITY)) {
        ReadEntityProvider& p = rs_->read_entity_provider;
        p.buffer = pvBuffer;
        p.data = n;
        p.size = cbBuffer;
        rs_->in_read_entity = true;
        deliver(rs_, RQ_READ_ENTITY, false);
        rs_->in_read_entity = false;
        DWORD got = p.data < cbBuffer ? p.data : cbBuffer;
        if (p.buffer != pvBuffer && p.buffer) {
            memmove(pvBuffer, p.buffer, got);
        }
        n = got;
    }
    *pcbBytesReceived = n;
    return S_OK;
}

HRESULT Request::ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, DWORD* pcbBytesReceived, BOOL* pfCompletionPending)
{
    track(rs_, "IHttpRequest::ReadEntityBody");
    return read_body("IHttpRequest::ReadEntityBody", pvBuffer, cbBuffer, fAsync, pcbBytesReceived, pfCompletionPending);
}

HRESULT Request::ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbBytesReceived, BOOL* pfCompletionPending)
{
    track(rs_, "IHttpRequest3::ReadEntityBody");
    // Completed synchronously, so the callback is not called (as in IIS).
    return read_body("IHttpRequest3::ReadEntityBody", pvBuffer, cbBuffer, fAsync, pcbBytesReceived, pfCompletionPending);
}

HRESULT Request::ReadEntityBody(VOID* pvBuffer, DWORD cbBuffer, BOOL fAsync, ULONG ulFlags, DWORD* pcbBytesReceived, BOOL* pfCompletionPending)
{
    track(rs_, "IHttpRequest4::ReadEntityBody");
    return read_body("IHttpRequest4::ReadEntityBody", pvBuffer, cbBuffer, fAsync, pcbBytesReceived, pfCompletionPending);
}

HRESULT Request::InsertEntityBody(VOID* pvBuffer, DWORD cbBuffer)
{
    track(rs_, "IHttpRequest::InsertEntityBody");
    if (!pvBuffer && cbBuffer) {
        TX("call IHttpRequest::InsertEntityBody(%lu bytes) -> E_INVALIDARG", (unsigned long)cbBuffer);
        return E_INVALIDARG;
    }
    // Replaces what an earlier call inserted; the next reads return it before any body bytes
    // not yet received.
    inserted_ = static_cast<BYTE*>(rs_->arena.alloc(cbBuffer ? cbBuffer : 1));
    if (cbBuffer) {
        memcpy(inserted_, pvBuffer, cbBuffer);
    }
    inserted_len_ = cbBuffer;
    inserted_read_ = 0;
    TX("call IHttpRequest::InsertEntityBody(%lu bytes) -> S_OK", (unsigned long)cbBuffer);
    return S_OK;
}

DWORD Request::GetRemainingEntityBytes()
{
    track(rs_, "IHttpRequest::GetRemainingEntityBytes");
    DWORD n = body_len_ - body_read_;
    TX("call IHttpRequest::GetRemainingEntityBytes -> %lu", (unsigned long)n);
    return n;
}

VOID Request::GetHttpVersion(USHORT* pMajorVersion, USHORT* pMinorVersion) const
{
    track(rs_, "IHttpRequest::GetHttpVersion");
    if (pMajorVersion) {
        *pMajorVersion = raw.Version.MajorVersion;
    }
    if (pMinorVersion) {
        *pMinorVersion = raw.Version.MinorVersion;
    }
    TX("call IHttpRequest::GetHttpVersion -> %u.%u", (unsigned)raw.Version.MajorVersion, (unsigned)raw.Version.MinorVersion);
}

HRESULT Request::GetClientCertificate(HTTP_SSL_CLIENT_CERT_INFO** ppClientCertInfo, BOOL* pfClientCertNegotiated)
{
    return not_implemented(rs_, "IHttpRequest::GetClientCertificate");
}

HRESULT Request::NegotiateClientCertificate(BOOL fAsync, BOOL* pfCompletionPending)
{
    return not_implemented(rs_, "IHttpRequest::NegotiateClientCertificate");
}

DWORD Request::GetSiteId() const
{
    track(rs_, "IHttpRequest::GetSiteId");
    TX("call IHttpRequest::GetSiteId -> 1");
    return 1;
}

HRESULT Request::GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderRequestMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderRequestMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices)
{
    return not_implemented(rs_, "IHttpRequest::GetHeaderChanges");
}

HRESULT Request::GetChannelBindingToken(PBYTE* ppToken, DWORD* pTokenSize)
{
    return not_implemented(rs_, "IHttpRequest2::GetChannelBindingToken");
}
