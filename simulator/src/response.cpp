// response.cpp: IHttpResponse4 over a real HTTP_RESPONSE, its cache policy, sending (flushes
// and the final send, each firing RQ_SEND_RESPONSE) and the response block of the transcript.
#include "pipeline.h"
#include "server.h"

Response::Response(RequestState* rs)
    : tag(TAG_RESPONSE), raw(), headers(), trailers(), cache(rs), sent(), headers_sent(false), final_sent(false),
      suppressed(false), buffering_disabled(false), kernel_cache_disabled(false), kernel_cache_reason(0),
      need_disconnect(false), reset(false), closed(false), need_goaway(false), reset_stream(0), substatus(0),
      error_to_report(S_OK), skip_custom_errors(FALSE), status_module(0), status_notification(0),
      error_description(0), error_description_len(0), flushes(0), rs_(rs), chunks_()
{
    headers.bind(raw.Headers.KnownHeaders, HttpHeaderResponseMaximum, true, &raw.Headers.UnknownHeaderCount,
                 &raw.Headers.pUnknownHeaders, &rs->arena);
    trailers.bind(&raw.Headers.TrailerCount, &raw.Headers.pTrailers, &rs->arena);
    raw.Version.MajorVersion = 1;
    raw.Version.MinorVersion = 1;
    raw.StatusCode = 200;
    raw.pReason = "OK";
    raw.ReasonLength = 2;
}

Response::~Response()
{
    chunks_.release();
    sent.release();
}

void Response::set_status(USHORT code, const char* reason, USHORT sub, HRESULT hr)
{
    raw.StatusCode = code;
    raw.pReason = rs_->arena.dup(reason ? reason : "");
    raw.ReasonLength = (USHORT)strlen(raw.pReason);
    substatus = sub;
    error_to_report = hr;
}

const char* Response::header_name_or_id(unsigned id) const
{
    const char* n = known_header_name(id, true);
    return n ? n : "invalid";
}

// The module may have edited raw.pEntityChunks / EntityChunkCount itself; the raw structure
// is the truth, so take its chunks over before changing them.
void Response::adopt_chunks()
{
    if (raw.pEntityChunks == chunks_.p && raw.EntityChunkCount == chunks_.n) {
        return;
    }
    Vec<HTTP_DATA_CHUNK> copy = Vec<HTTP_DATA_CHUNK>();
    for (USHORT i = 0; raw.pEntityChunks && i < raw.EntityChunkCount; i++) {
        copy.push(raw.pEntityChunks[i]);
    }
    chunks_.release();
    chunks_ = copy;
    raw.pEntityChunks = chunks_.p;
    raw.EntityChunkCount = (USHORT)chunks_.n;
}

void Response::insert_chunk(const HTTP_DATA_CHUNK& chunk, LONG position)
{
    adopt_chunks();
    chunks_.push(chunk);
    if (position >= 0 && (unsigned)position < chunks_.n - 1) {
        memmove(&chunks_.p[position + 1], &chunks_.p[position], (chunks_.n - 1 - position) * sizeof(HTTP_DATA_CHUNK));
        chunks_.p[position] = chunk;
    }
    raw.pEntityChunks = chunks_.p;
    raw.EntityChunkCount = (USHORT)chunks_.n;
}

void fill_log_fields(RequestState* rs, HTTP_LOG_FIELDS_DATA* f)
{
    Arena& a = rs->arena;
    const Request& rq = rs->request;
    memset(f, 0, sizeof *f);
    f->Base.Type = HttpLogDataTypeFields;
    DWORD n = 0;
    f->UriStem = a.wdup(rq.path(), rq.path_len());
    f->UriStemLength = (USHORT)(rq.path_len() * sizeof(wchar_t));
    f->UriQuery = a.narrow(rq.query(), rq.query_len(), &n);
    f->UriQueryLength = (USHORT)n;
    const char* m = rq.method();
    f->Method = a.dup(m);
    f->MethodLength = (USHORT)strlen(m);
    f->MethodNum = rq.raw.Verb;
    const wchar_t* v = 0;
    DWORD vl = 0;
    if (rs->server_variable("REMOTE_ADDR", &v, &vl)) {
        f->ClientIp = a.narrow(v, vl, &n);
        f->ClientIpLength = (USHORT)n;
    }
    if (rs->server_variable("LOCAL_ADDR", &v, &vl)) {
        f->ServerIp = a.narrow(v, vl, &n);
        f->ServerIpLength = (USHORT)n;
    }
    if (rs->server_variable("SERVER_PORT", &v, &vl)) {
        f->ServerPort = (USHORT)wcstoul(v, 0, 10);
    }
    f->ServerName = a.dup("SIMULATOR");
    f->ServerNameLength = 9;
    f->ServiceName = a.dup("W3SVC1");
    USHORT hl = 0;
    const char* h;
    if ((h = rq.headers.get((unsigned)HttpHeaderHost, &hl)) != 0) {
        f->Host = a.dup(h, hl);
        f->HostLength = hl;
    }
    if ((h = rq.headers.get((unsigned)HttpHeaderUserAgent, &hl)) != 0) {
        f->UserAgent = a.dup(h, hl);
        f->UserAgentLength = hl;
    }
    if ((h = rq.headers.get((unsigned)HttpHeaderCookie, &hl)) != 0) {
        f->Cookie = a.dup(h, hl);
        f->CookieLength = hl;
    }
    if ((h = rq.headers.get((unsigned)HttpHeaderReferer, &hl)) != 0) {
        f->Referrer = a.dup(h, hl);
        f->ReferrerLength = hl;
    }
    if (rs->user == &rs->script_user) {
        f->UserName = rs->script_user.name;
        f->UserNameLength = (USHORT)(wcslen(rs->script_user.name) * sizeof(wchar_t));
    }
    f->ProtocolStatus = rs->response.raw.StatusCode;
    f->SubStatus = rs->response.substatus;
    f->Win32Status = HRESULT_CODE(rs->response.error_to_report);
}

DWORD Response::send(bool final, bool more_data)
{
    if (rs_->in_send || reset) {
        // A write from inside OnSendResponse goes out with the send in progress; after
        // ResetConnection nothing goes out at all.
        return 0;
    }
    bool first = !headers_sent;
    SendResponseProvider& p = rs_->send_provider;
    p.headers_being_sent = (first && !suppressed) ? TRUE : FALSE;
    p.flags = (more_data ? HTTP_SEND_RESPONSE_FLAG_MORE_DATA : 0) | (need_disconnect ? HTTP_SEND_RESPONSE_FLAG_DISCONNECT : 0);
    p.ready_to_log = final ? TRUE : FALSE;
    p.log_data = 0;
    rs_->in_send = true;
    deliver(rs_, RQ_SEND_RESPONSE, false);
    rs_->in_send = false;

    adopt_chunks();
    DWORD bytes = 0;
    for (unsigned i = 0; i < chunks_.n; i++) {
        const HTTP_DATA_CHUNK& c = chunks_.p[i];
        if (c.DataChunkType == HttpDataChunkFromMemory && c.FromMemory.pBuffer) {
            sent.append(c.FromMemory.pBuffer, c.FromMemory.BufferLength);
            bytes += c.FromMemory.BufferLength;
        }
    }
    chunks_.n = 0;
    raw.pEntityChunks = chunks_.p;
    raw.EntityChunkCount = 0;
    headers_sent = true;
    if (final) {
        final_sent = true;
    } else {
        flushes++;
        TX("flush %u: %lu bytes%s", rs_->request_number, (unsigned long)bytes, first ? " (headers sent)" : "");
    }
    return bytes;
}

static void print_header(const char* prefix, const char* name, size_t nl, const char* value, size_t vl)
{
    static char n[256];
    if (nl > 255) {
        nl = 255;
    }
    memcpy(n, name, nl);
    n[nl] = 0;
    TX("%s: %s: %s", prefix, n, qbytes(value, vl, 1024));
}

void Response::print(unsigned number) const
{
    if (reset) {
        TX("response %u: connection reset (nothing sent)", number);
        return;
    }
    if (substatus) {
        TX("response %u: %u.%u %s", number, (unsigned)raw.StatusCode, (unsigned)substatus, qbytes(raw.pReason, raw.ReasonLength, 256));
    } else {
        TX("response %u: %u %s", number, (unsigned)raw.StatusCode, qbytes(raw.pReason, raw.ReasonLength, 256));
    }
    if (suppressed) {
        TX("response-headers: suppressed");
    } else {
        for (unsigned id = 0; id < HttpHeaderResponseMaximum; id++) {
            const HTTP_KNOWN_HEADER& k = raw.Headers.KnownHeaders[id];
            if (k.pRawValue) {
                const char* name = known_header_name(id, true);
                print_header("response-header", name, strlen(name), k.pRawValue, k.RawValueLength);
            }
        }
        for (USHORT i = 0; raw.Headers.pUnknownHeaders && i < raw.Headers.UnknownHeaderCount; i++) {
            const HTTP_UNKNOWN_HEADER& u = raw.Headers.pUnknownHeaders[i];
            print_header("response-header", u.pName, u.NameLength, u.pRawValue, u.RawValueLength);
        }
    }
    for (USHORT i = 0; raw.Headers.pTrailers && i < raw.Headers.TrailerCount; i++) {
        const HTTP_UNKNOWN_HEADER& u = raw.Headers.pTrailers[i];
        print_header("response-trailer", u.pName, u.NameLength, u.pRawValue, u.RawValueLength);
    }
    char flags[256];
    size_t at = 0;
    flags[0] = 0;
#define FLAG(cond, text)                                                                 \
    if (cond) {                                                                          \
        at += (size_t)snprintf(flags + at, sizeof flags - at, "%s%s", at ? " " : "", text); \
    }
    FLAG(buffering_disabled, "buffering-disabled");
    FLAG(kernel_cache_disabled, "kernel-cache-disabled");
    FLAG(need_disconnect, "need-disconnect");
    FLAG(closed, "close-connection");
    FLAG(need_goaway, "need-goaway");
    FLAG(reset_stream != 0, "reset-stream");
    FLAG(skip_custom_errors, "try-skip-custom-errors");
    FLAG(flushes != 0, "flushed");
#undef FLAG
    if (at) {
        TX("response-flags: %s", flags);
    }
    TX("body-bytes: %lu", (unsigned long)sent.n);
    TX("body: %s", qbytes(sent.p, sent.n, 4096));
}

// ---------------------------------------------------------------------------------------------
// IHttpResponse4.

HTTP_RESPONSE* Response::GetRawHttpResponse()
{
    track(rs_, "IHttpResponse::GetRawHttpResponse");
    adopt_chunks();
    TX("call IHttpResponse::GetRawHttpResponse -> HTTP_RESPONSE");
    return &raw;
}

const HTTP_RESPONSE* Response::GetRawHttpResponse() const
{
    track(rs_, "IHttpResponse::GetRawHttpResponse");
    TX("call IHttpResponse::GetRawHttpResponse const -> HTTP_RESPONSE");
    return &raw;
}

IHttpCachePolicy* Response::GetCachePolicy()
{
    track(rs_, "IHttpResponse::GetCachePolicy");
    TX("call IHttpResponse::GetCachePolicy -> cache policy");
    return &cache;
}

HRESULT Response::SetStatus(USHORT statusCode, PCSTR pszReason, USHORT uSubStatus, HRESULT hrErrorToReport, IAppHostConfigException* pException, BOOL fTrySkipCustomErrors)
{
    track(rs_, "IHttpResponse::SetStatus");
    set_status(statusCode, pszReason, uSubStatus, hrErrorToReport);
    skip_custom_errors = fTrySkipCustomErrors;
    status_module = g.module_name;
    status_notification = rs_->notification;
    TX("call IHttpResponse::SetStatus(%u, %s, substatus=%u, hr=%s, skip-custom-errors=%s) -> S_OK", (unsigned)statusCode, qa(pszReason),
       (unsigned)uSubStatus, hr_name(hrErrorToReport), bool_name(fTrySkipCustomErrors));
    return S_OK;
}

HRESULT Response::SetHeader(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace)
{
    track(rs_, "IHttpResponse::SetHeader");
    HRESULT hr = headers.set(pszHeaderName, pszHeaderValue, cchHeaderValue, fReplace);
    TX("call IHttpResponse::SetHeader(%s, %s, replace=%s) -> %s", qa(pszHeaderName), qa(pszHeaderValue, pszHeaderValue ? cchHeaderValue : -1),
       bool_name(fReplace), hr_name(hr));
    return hr;
}

HRESULT Response::SetHeader(HTTP_HEADER_ID ulHeaderIndex, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace)
{
    track(rs_, "IHttpResponse::SetHeader");
    HRESULT hr = headers.set((unsigned)ulHeaderIndex, pszHeaderValue, cchHeaderValue, fReplace);
    TX("call IHttpResponse::SetHeader(#%u %s, %s, replace=%s) -> %s", (unsigned)ulHeaderIndex, header_name_or_id((unsigned)ulHeaderIndex),
       qa(pszHeaderValue, pszHeaderValue ? cchHeaderValue : -1), bool_name(fReplace), hr_name(hr));
    return hr;
}

HRESULT Response::DeleteHeader(PCSTR pszHeaderName)
{
    track(rs_, "IHttpResponse::DeleteHeader");
    HRESULT hr = headers.remove(pszHeaderName);
    TX("call IHttpResponse::DeleteHeader(%s) -> %s", qa(pszHeaderName), hr_name(hr));
    return hr;
}

HRESULT Response::DeleteHeader(HTTP_HEADER_ID ulHeaderIndex)
{
    track(rs_, "IHttpResponse::DeleteHeader");
    HRESULT hr = headers.remove((unsigned)ulHeaderIndex);
    TX("call IHttpResponse::DeleteHeader(#%u %s) -> %s", (unsigned)ulHeaderIndex, header_name_or_id((unsigned)ulHeaderIndex), hr_name(hr));
    return hr;
}

PCSTR Response::GetHeader(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const
{
    track(rs_, "IHttpResponse::GetHeader");
    USHORT len = 0;
    PCSTR v = pszHeaderName ? headers.get(pszHeaderName, &len) : 0;
    if (pcchHeaderValue) {
        *pcchHeaderValue = len;
    }
    TX("call IHttpResponse::GetHeader(%s) -> %s", qa(pszHeaderName), qa(v, len));
    return v;
}

PCSTR Response::GetHeader(HTTP_HEADER_ID ulHeaderIndex, USHORT* pcchHeaderValue) const
{
    track(rs_, "IHttpResponse::GetHeader");
    USHORT len = 0;
    PCSTR v = headers.get((unsigned)ulHeaderIndex, &len);
    if (pcchHeaderValue) {
        *pcchHeaderValue = len;
    }
    TX("call IHttpResponse::GetHeader(#%u %s) -> %s", (unsigned)ulHeaderIndex, header_name_or_id((unsigned)ulHeaderIndex), qa(v, len));
    return v;
}

VOID Response::Clear()
{
    track(rs_, "IHttpResponse::Clear");
    // The buffered entity only; what a flush already sent is gone.
    adopt_chunks();
    chunks_.n = 0;
    raw.EntityChunkCount = 0;
    TX("call IHttpResponse::Clear");
}

VOID Response::ClearHeaders()
{
    track(rs_, "IHttpResponse::ClearHeaders");
    headers.clear();
    TX("call IHttpResponse::ClearHeaders");
}

VOID Response::SetNeedDisconnect()
{
    track(rs_, "IHttpResponse::SetNeedDisconnect");
    need_disconnect = true;
    TX("call IHttpResponse::SetNeedDisconnect");
}

VOID Response::ResetConnection()
{
    track(rs_, "IHttpResponse::ResetConnection");
    reset = true;
    rs_->connection.connected = false;
    TX("call IHttpResponse::ResetConnection");
}

VOID Response::DisableKernelCache(ULONG reason)
{
    track(rs_, "IHttpResponse::DisableKernelCache");
    kernel_cache_disabled = true;
    kernel_cache_reason = reason;
    TX("call IHttpResponse::DisableKernelCache(%lu)", (unsigned long)reason);
}

BOOL Response::GetKernelCacheEnabled() const
{
    track(rs_, "IHttpResponse::GetKernelCacheEnabled");
    TX("call IHttpResponse::GetKernelCacheEnabled -> %s", bool_name(!kernel_cache_disabled));
    return kernel_cache_disabled ? FALSE : TRUE;
}

VOID Response::SuppressHeaders()
{
    track(rs_, "IHttpResponse::SuppressHeaders");
    suppressed = true;
    TX("call IHttpResponse::SuppressHeaders");
}

BOOL Response::GetHeadersSuppressed() const
{
    track(rs_, "IHttpResponse::GetHeadersSuppressed");
    TX("call IHttpResponse::GetHeadersSuppressed -> %s", bool_name(suppressed));
    return suppressed ? TRUE : FALSE;
}

HRESULT Response::flush(const char* what, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    // Completes synchronously: no completion to expect, whether asked for async or not.
    if (pfCompletionExpected) {
        *pfCompletionExpected = FALSE;
    }
    DWORD n = send(false, fMoreData != FALSE);
    if (pcbSent) {
        *pcbSent = n;
    }
    // Printed after the send, so the OnSendResponse it caused comes first.
    TX("call %s(async=%s, more-data=%s) -> S_OK, %lu bytes sent", what, bool_name(fAsync), bool_name(fMoreData), (unsigned long)n);
    return S_OK;
}

HRESULT Response::Flush(BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    track(rs_, "IHttpResponse::Flush");
    return flush("IHttpResponse::Flush", fAsync, fMoreData, pcbSent, pfCompletionExpected);
}

HRESULT Response::Flush(BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    track(rs_, "IHttpResponse2::Flush");
    return flush("IHttpResponse2::Flush", fAsync, fMoreData, pcbSent, pfCompletionExpected);
}

HRESULT Response::Redirect(PCSTR pszUrl, BOOL fResetStatusCode, BOOL fIncludeParameters)
{
    track(rs_, "IHttpResponse::Redirect");
    if (!pszUrl || !*pszUrl) {
        TX("call IHttpResponse::Redirect(%s) -> E_INVALIDARG", qa(pszUrl));
        return E_INVALIDARG;
    }
    Arena& a = rs_->arena;
    const char* location = pszUrl;
    if (fIncludeParameters && rs_->request.query_len()) {
        DWORD ql = 0;
        const char* q = a.narrow(rs_->request.query(), rs_->request.query_len(), &ql);
        size_t ul = strlen(pszUrl);
        char* joined = static_cast<char*>(a.alloc(ul + 1 + ql + 1));
        memcpy(joined, pszUrl, ul);
        joined[ul] = strchr(pszUrl, '?') ? '&' : '?';
        memcpy(joined + ul + 1, q, ql);
        joined[ul + 1 + ql] = 0;
        location = joined;
    }
    adopt_chunks();
    chunks_.n = 0;
    raw.EntityChunkCount = 0;
    headers.set((unsigned)HttpHeaderLocation, location, strlen(location), TRUE);
    if (fResetStatusCode) {
        set_status(302, "Redirect", 0, S_OK);
    }
    // A short body for clients that do not follow the Location header.
    static const char prefix[] = "<html><body>Moved to <a href=\"";
    static const char suffix[] = "\">here</a>.</body></html>";
    size_t ll = strlen(location);
    char* body = static_cast<char*>(a.alloc(sizeof prefix + ll + sizeof suffix));
    memcpy(body, prefix, sizeof prefix - 1);
    memcpy(body + sizeof prefix - 1, location, ll);
    memcpy(body + sizeof prefix - 1 + ll, suffix, sizeof suffix);
    HTTP_DATA_CHUNK c;
    memset(&c, 0, sizeof c);
    c.DataChunkType = HttpDataChunkFromMemory;
    c.FromMemory.pBuffer = body;
    c.FromMemory.BufferLength = (ULONG)strlen(body);
    insert_chunk(c, -1);
    headers.set((unsigned)HttpHeaderContentType, "text/html", 9, TRUE);
    TX("call IHttpResponse::Redirect(%s, reset-status=%s, include-parameters=%s) -> S_OK", qa(pszUrl), bool_name(fResetStatusCode),
       bool_name(fIncludeParameters));
    return S_OK;
}

HRESULT Response::WriteEntityChunkByReference(HTTP_DATA_CHUNK* pDataChunk, LONG lInsertPosition)
{
    track(rs_, "IHttpResponse::WriteEntityChunkByReference");
    adopt_chunks();
    HRESULT hr = S_OK;
    if (!pDataChunk || lInsertPosition < -1 || (lInsertPosition >= 0 && (unsigned)lInsertPosition > chunks_.n)) {
        hr = E_INVALIDARG;
    } else if (pDataChunk->DataChunkType != HttpDataChunkFromMemory) {
        // Only memory chunks: the simulator serves no files or fragment cache entries.
        hr = E_INVALIDARG;
    } else {
        // Not copied: the module keeps the memory valid until the response is sent.
        insert_chunk(*pDataChunk, lInsertPosition);
    }
    TX("call IHttpResponse::WriteEntityChunkByReference(%lu bytes, position=%ld) -> %s",
       (unsigned long)(pDataChunk && pDataChunk->DataChunkType == HttpDataChunkFromMemory ? pDataChunk->FromMemory.BufferLength : 0),
       (long)lInsertPosition, hr_name(hr));
    return hr;
}

HRESULT Response::write_chunks(const char* what, HTTP_DATA_CHUNK* chunks, DWORD count, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    if (pfCompletionExpected) {
        *pfCompletionExpected = FALSE;
    }
    if (pcbSent) {
        *pcbSent = 0;
    }
    if (!chunks && count) {
        TX("call %s(chunks=%lu) -> E_INVALIDARG", what, (unsigned long)count);
        return E_INVALIDARG;
    }
    for (DWORD i = 0; i < count; i++) {
        if (chunks[i].DataChunkType != HttpDataChunkFromMemory) {
            // Checked before anything is written, so a rejected call writes nothing.
            TX("call %s(chunks=%lu) -> E_INVALIDARG (chunk %lu is not in memory)", what, (unsigned long)count, (unsigned long)i);
            return E_INVALIDARG;
        }
    }
    DWORD total = 0;
    for (DWORD i = 0; i < count; i++) {
        // Buffered writes are copied, so the module may reuse its buffer at once.
        HTTP_DATA_CHUNK c = chunks[i];
        ULONG n = c.FromMemory.BufferLength;
        void* copy = rs_->arena.alloc(n ? n : 1);
        if (n) {
            memcpy(copy, c.FromMemory.pBuffer, n);
        }
        c.FromMemory.pBuffer = copy;
        insert_chunk(c, -1);
        total += n;
    }
    if (g.transcript) {
        // Show what was written when it is one small chunk, the usual case.
        if (count == 1 && total <= 200) {
            TX("call %s(1 chunk, %s, async=%s, more-data=%s) -> S_OK", what, qa(static_cast<const char*>(chunks[0].FromMemory.pBuffer), (long)total),
               bool_name(fAsync), bool_name(fMoreData));
        } else {
            TX("call %s(%lu chunks, %lu bytes, async=%s, more-data=%s) -> S_OK", what, (unsigned long)count, (unsigned long)total, bool_name(fAsync),
               bool_name(fMoreData));
        }
    }
    if (buffering_disabled) {
        send(false, fMoreData != FALSE);
    }
    if (pcbSent) {
        *pcbSent = total;
    }
    return S_OK;
}

HRESULT Response::WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    track(rs_, "IHttpResponse::WriteEntityChunks");
    return write_chunks("IHttpResponse::WriteEntityChunks", pDataChunks, nChunks, fAsync, fMoreData, pcbSent, pfCompletionExpected);
}

HRESULT Response::WriteEntityChunks(HTTP_DATA_CHUNK* pDataChunks, DWORD nChunks, BOOL fAsync, BOOL fMoreData, PFN_ASYNC_COMPLETION pfnCompletionCallback, VOID* pvCompletionContext, DWORD* pcbSent, BOOL* pfCompletionExpected)
{
    track(rs_, "IHttpResponse2::WriteEntityChunks");
    // Completes synchronously, so the callback is not called (as in IIS).
    return write_chunks("IHttpResponse2::WriteEntityChunks", pDataChunks, nChunks, fAsync, fMoreData, pcbSent, pfCompletionExpected);
}

VOID Response::DisableBuffering()
{
    track(rs_, "IHttpResponse::DisableBuffering");
    // From now on every write is sent at once (a flush per write).
    buffering_disabled = true;
    TX("call IHttpResponse::DisableBuffering");
}

VOID Response::GetStatus(USHORT* pStatusCode, USHORT* pSubStatus, PCSTR* ppszReason, USHORT* pcchReason, HRESULT* phrErrorToReport, PCWSTR* ppszModule, DWORD* pdwNotification, IAppHostConfigException** ppException, BOOL* pfTrySkipCustomErrors)
{
    track(rs_, "IHttpResponse::GetStatus");
    if (pStatusCode) {
        *pStatusCode = raw.StatusCode;
    }
    if (pSubStatus) {
        *pSubStatus = substatus;
    }
    if (ppszReason) {
        *ppszReason = raw.pReason;
    }
    if (pcchReason) {
        *pcchReason = raw.ReasonLength;
    }
    if (phrErrorToReport) {
        *phrErrorToReport = error_to_report;
    }
    if (ppszModule) {
        *ppszModule = status_module;
    }
    if (pdwNotification) {
        *pdwNotification = status_notification;
    }
    if (ppException) {
        *ppException = 0;
    }
    if (pfTrySkipCustomErrors) {
        *pfTrySkipCustomErrors = skip_custom_errors;
    }
    TX("call IHttpResponse::GetStatus -> %u.%u %s", (unsigned)raw.StatusCode, (unsigned)substatus, qa(raw.pReason, raw.ReasonLength));
}

HRESULT Response::SetErrorDescription(PCWSTR pszDescription, DWORD cchDescription, BOOL fHtmlEncode)
{
    track(rs_, "IHttpResponse::SetErrorDescription");
    if (!pszDescription) {
        TX("call IHttpResponse::SetErrorDescription(NULL) -> E_INVALIDARG");
        return E_INVALIDARG;
    }
    error_description = rs_->arena.wdup(pszDescription, cchDescription);
    error_description_len = cchDescription;
    TX("call IHttpResponse::SetErrorDescription(%s, html-encode=%s) -> S_OK", qw(pszDescription, (long)cchDescription), bool_name(fHtmlEncode));
    return S_OK;
}

PCWSTR Response::GetErrorDescription(DWORD* pcchDescription)
{
    track(rs_, "IHttpResponse::GetErrorDescription");
    if (pcchDescription) {
        *pcchDescription = error_description_len;
    }
    TX("call IHttpResponse::GetErrorDescription -> %s", qw(error_description, error_description ? (long)error_description_len : -1));
    return error_description;
}

HRESULT Response::GetHeaderChanges(DWORD dwOldChangeNumber, DWORD* pdwNewChangeNumber, PCSTR knownHeaderSnapshot[HttpHeaderResponseMaximum], DWORD* pdwUnknownHeaderSnapshot, PCSTR** ppUnknownHeaderNameSnapshot, PCSTR** ppUnknownHeaderValueSnapshot, DWORD diffedKnownHeaderIndices[HttpHeaderResponseMaximum + 1], DWORD* pdwDiffedUnknownHeaders, DWORD** ppDiffedUnknownHeaderIndices)
{
    return not_implemented(rs_, "IHttpResponse::GetHeaderChanges");
}

VOID Response::CloseConnection()
{
    track(rs_, "IHttpResponse::CloseConnection");
    closed = true;
    TX("call IHttpResponse::CloseConnection");
}

HRESULT Response::PushPromise(PCSTR pszVerb, PCWSTR pwszPath, PCWSTR pwszQuery, DWORD cHeaders, PCSTR* rgHeaderNames, PCSTR* rgHeaderValues)
{
    return not_implemented(rs_, "IHttpResponse3::PushPromise");
}

HRESULT Response::DeleteTrailer(PCSTR pszHeaderName)
{
    track(rs_, "IHttpResponse4::DeleteTrailer");
    HRESULT hr = S_OK;
    if (!pszHeaderName) {
        hr = E_INVALIDARG;
    } else {
        int i;
        while ((i = trailers.find(pszHeaderName, strlen(pszHeaderName))) >= 0) {
            trailers.remove(i);
        }
    }
    TX("call IHttpResponse4::DeleteTrailer(%s) -> %s", qa(pszHeaderName), hr_name(hr));
    return hr;
}

PCSTR Response::GetTrailer(PCSTR pszHeaderName, USHORT* pcchHeaderValue) const
{
    track(rs_, "IHttpResponse4::GetTrailer");
    PCSTR v = 0;
    USHORT len = 0;
    int i = pszHeaderName ? trailers.find(pszHeaderName, strlen(pszHeaderName)) : -1;
    if (i >= 0) {
        v = (*trailers.array)[i].pRawValue;
        len = (*trailers.array)[i].RawValueLength;
    }
    if (pcchHeaderValue) {
        *pcchHeaderValue = len;
    }
    TX("call IHttpResponse4::GetTrailer(%s) -> %s", qa(pszHeaderName), qa(v, len));
    return v;
}

VOID Response::ResetStream(ULONG errorCode)
{
    track(rs_, "IHttpResponse4::ResetStream");
    reset_stream = errorCode ? errorCode : 1;
    TX("call IHttpResponse4::ResetStream(%lu)", (unsigned long)errorCode);
}

VOID Response::SetNeedGoAway()
{
    track(rs_, "IHttpResponse4::SetNeedGoAway");
    need_goaway = true;
    TX("call IHttpResponse4::SetNeedGoAway");
}

HRESULT Response::SetTrailer(PCSTR pszHeaderName, PCSTR pszHeaderValue, USHORT cchHeaderValue, BOOL fReplace)
{
    track(rs_, "IHttpResponse4::SetTrailer");
    HRESULT hr = S_OK;
    if (!pszHeaderName || !*pszHeaderName || !pszHeaderValue) {
        hr = E_INVALIDARG;
    } else {
        size_t nl = strlen(pszHeaderName);
        if (fReplace) {
            int i;
            while ((i = trailers.find(pszHeaderName, nl)) >= 0) {
                trailers.remove(i);
            }
        }
        trailers.add(pszHeaderName, nl, pszHeaderValue, cchHeaderValue);
    }
    TX("call IHttpResponse4::SetTrailer(%s, %s, replace=%s) -> %s", qa(pszHeaderName), qa(pszHeaderValue, pszHeaderValue ? cchHeaderValue : -1),
       bool_name(fReplace), hr_name(hr));
    return hr;
}

// ---------------------------------------------------------------------------------------------
// IHttpCachePolicy2.

CachePolicy::CachePolicy(RequestState* rs)
    : tag(TAG_CACHE_POLICY), rs_(rs), kernel_(), user_(), vary_headers_(0), vary_query_(0), vary_value_(0),
      user_cache_enabled_(true), cached_(false), invalidator_set_(false), force_update_(false)
{
    kernel_.Policy = HttpCachePolicyNocache;
    user_.Policy = HttpCachePolicyNocache;
}

HTTP_CACHE_POLICY* CachePolicy::GetKernelCachePolicy()
{
    track(rs_, "IHttpCachePolicy::GetKernelCachePolicy");
    TX("call IHttpCachePolicy::GetKernelCachePolicy -> HTTP_CACHE_POLICY");
    return &kernel_;
}

VOID CachePolicy::SetKernelCacheInvalidatorSet()
{
    track(rs_, "IHttpCachePolicy::SetKernelCacheInvalidatorSet");
    invalidator_set_ = true;
    TX("call IHttpCachePolicy::SetKernelCacheInvalidatorSet");
}

HTTP_CACHE_POLICY* CachePolicy::GetUserCachePolicy()
{
    track(rs_, "IHttpCachePolicy::GetUserCachePolicy");
    TX("call IHttpCachePolicy::GetUserCachePolicy -> HTTP_CACHE_POLICY");
    return &user_;
}

// Appends to a comma-separated list kept in the request's arena.
static char* append_list(Arena& a, char* list, const char* item)
{
    size_t ll = list ? strlen(list) : 0;
    size_t il = strlen(item);
    char* n = static_cast<char*>(a.alloc(ll + 1 + il + 1));
    if (ll) {
        memcpy(n, list, ll);
        n[ll] = ',';
        memcpy(n + ll + 1, item, il + 1);
    } else {
        memcpy(n, item, il + 1);
    }
    return n;
}

HRESULT CachePolicy::AppendVaryByHeader(PCSTR pszHeader)
{
    track(rs_, "IHttpCachePolicy::AppendVaryByHeader");
    HRESULT hr = pszHeader ? S_OK : E_INVALIDARG;
    if (pszHeader) {
        vary_headers_ = append_list(rs_->arena, vary_headers_, pszHeader);
    }
    TX("call IHttpCachePolicy::AppendVaryByHeader(%s) -> %s", qa(pszHeader), hr_name(hr));
    return hr;
}

PCSTR CachePolicy::GetVaryByHeaders() const
{
    track(rs_, "IHttpCachePolicy::GetVaryByHeaders");
    TX("call IHttpCachePolicy::GetVaryByHeaders -> %s", qa(vary_headers_));
    return vary_headers_;
}

HRESULT CachePolicy::AppendVaryByQueryString(PCSTR pszParam)
{
    track(rs_, "IHttpCachePolicy::AppendVaryByQueryString");
    HRESULT hr = pszParam ? S_OK : E_INVALIDARG;
    if (pszParam) {
        vary_query_ = append_list(rs_->arena, vary_query_, pszParam);
    }
    TX("call IHttpCachePolicy::AppendVaryByQueryString(%s) -> %s", qa(pszParam), hr_name(hr));
    return hr;
}

PCSTR CachePolicy::GetVaryByQueryStrings() const
{
    track(rs_, "IHttpCachePolicy::GetVaryByQueryStrings");
    TX("call IHttpCachePolicy::GetVaryByQueryStrings -> %s", qa(vary_query_));
    return vary_query_;
}

HRESULT CachePolicy::SetVaryByValue(PCSTR pszValue)
{
    track(rs_, "IHttpCachePolicy::SetVaryByValue");
    vary_value_ = pszValue ? rs_->arena.dup(pszValue) : 0;
    TX("call IHttpCachePolicy::SetVaryByValue(%s) -> S_OK", qa(pszValue));
    return S_OK;
}

PCSTR CachePolicy::GetVaryByValue() const
{
    track(rs_, "IHttpCachePolicy::GetVaryByValue");
    TX("call IHttpCachePolicy::GetVaryByValue -> %s", qa(vary_value_));
    return vary_value_;
}

BOOL CachePolicy::IsUserCacheEnabled() const
{
    track(rs_, "IHttpCachePolicy::IsUserCacheEnabled");
    TX("call IHttpCachePolicy::IsUserCacheEnabled -> %s", bool_name(user_cache_enabled_));
    return user_cache_enabled_ ? TRUE : FALSE;
}

VOID CachePolicy::DisableUserCache()
{
    track(rs_, "IHttpCachePolicy::DisableUserCache");
    user_cache_enabled_ = false;
    TX("call IHttpCachePolicy::DisableUserCache");
}

BOOL CachePolicy::IsCached() const
{
    track(rs_, "IHttpCachePolicy::IsCached");
    TX("call IHttpCachePolicy::IsCached -> %s", bool_name(cached_));
    return cached_ ? TRUE : FALSE;
}

VOID CachePolicy::SetIsCached()
{
    track(rs_, "IHttpCachePolicy::SetIsCached");
    cached_ = true;
    TX("call IHttpCachePolicy::SetIsCached");
}

BOOL CachePolicy::GetKernelCacheInvalidatorSet() const
{
    track(rs_, "IHttpCachePolicy::GetKernelCacheInvalidatorSet");
    TX("call IHttpCachePolicy::GetKernelCacheInvalidatorSet -> %s", bool_name(invalidator_set_));
    return invalidator_set_ ? TRUE : FALSE;
}

BOOL CachePolicy::IsForceUpdateSet() const
{
    track(rs_, "IHttpCachePolicy2::IsForceUpdateSet");
    TX("call IHttpCachePolicy2::IsForceUpdateSet -> %s", bool_name(force_update_));
    return force_update_ ? TRUE : FALSE;
}

VOID CachePolicy::SetForceUpdate()
{
    track(rs_, "IHttpCachePolicy2::SetForceUpdate");
    force_update_ = true;
    TX("call IHttpCachePolicy2::SetForceUpdate");
}
