// exercise_cpp.cpp: a C++ test module for the simulator itself. It registers for most
// notifications (and as a global module) and, depending on the request's query string, drives
// one area of the API so that tests/e2e_exercise_cpp.rs can check the simulator's behaviour
// through the DLL door:
//
//   ?mode=echo       reads the entity body (RQ_READ_ENTITY doubles as a check) and echoes it
//   ?mode=headers    request/response header calls, the raw HTTP_REQUEST, server variables
//   ?mode=finish     403 and RQ_NOTIFICATION_FINISH_REQUEST from OnBeginRequest
//   ?mode=redirect   IHttpResponse::Redirect, then FINISH_REQUEST
//   ?mode=pending    RQ_NOTIFICATION_PENDING with IndicateCompletion, and with PostCompletion
//   ?mode=flush      a write, a Flush (RQ_SEND_RESPONSE twice), another write
//   ?mode=ext        IHttpServer2::GetExtendedInterface to IHttpContext4/IHttpResponse4
//   ?mode=context    stored contexts in the request, connection and named containers
//   ?mode=mappath    IHttpContext::MapPath (size query, then the path) and RQ_MAP_PATH
//   ?mode=seturl     IHttpRequest::SetUrl and SetHttpMethod
//   ?mode=notimpl    a method the simulator does not implement
//   ?mode=misc       status, buffering, chunk by reference, cache policy, flags, variables
//   ?mode=reset      IHttpResponse::ResetConnection (nothing is sent)
//   ?mode=late       keeps the context and calls it during the next request (a module bug)
//   ?mode=crash      writes through a NULL pointer (the simulator reports the crash)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "httpserv.h"

void* operator new(size_t n)
{
    return malloc(n ? n : 1);
}

void operator delete(void* p) noexcept
{
    free(p);
}

void operator delete(void* p, size_t) noexcept
{
    free(p);
}

inline void* operator new(size_t, void* where) noexcept
{
    return where;
}

extern "C" int _purecall()
{
    abort();
}

static IHttpServer* g_server;
static HTTP_MODULE_ID g_id;
static IHttpContext* g_kept;   // mode=late: a context kept past its request

static void write(IHttpContext* c, const char* text)
{
    HTTP_DATA_CHUNK chunk;
    chunk.DataChunkType = HttpDataChunkFromMemory;
    chunk.FromMemory.pBuffer = const_cast<char*>(text);
    chunk.FromMemory.BufferLength = (ULONG)strlen(text);
    DWORD sent = 0;
    c->GetResponse()->WriteEntityChunks(&chunk, 1, FALSE, TRUE, &sent);
}

// True when a query string has mode=<m>.
static bool query_has_mode(const wchar_t* query, const wchar_t* m)
{
    if (!query) {
        return false;
    }
    wchar_t want[64] = L"mode=";
    wcscat(want, m);
    const wchar_t* found = wcsstr(query, want);
    if (!found) {
        return false;
    }
    wchar_t after = found[wcslen(want)];
    return after == 0 || after == L'&';
}

static const wchar_t* const s_modes[] = {
    L"echo", L"headers", L"finish", L"redirect", L"pending", L"flush", L"ext",
    L"context", L"mappath", L"seturl", L"notimpl", L"late", L"crash", L"misc", L"reset",
};

class Stored final : public IHttpStoredContext {
public:
    VOID CleanupStoredContext() override
    {
        delete this;
    }
};

class ConnectionStored final : public IHttpConnectionStoredContext {
public:
    VOID CleanupStoredContext() override
    {
        delete this;
    }
    VOID NotifyDisconnect() override {}
};

// Lives in request memory from IModuleAllocator, so Dispose only destroys it.
class ExerciseModule final : public CHttpModule {
public:
    // The request's mode, looked up once (the first lookup shows in the transcript).
    bool mode(IHttpContext* c, const wchar_t* m)
    {
        if (!mode_) {
            mode_ = L"";
            const wchar_t* query = c->GetRequest()->GetRawHttpRequest()->CookedUrl.pQueryString;
            for (size_t i = 0; i < sizeof s_modes / sizeof s_modes[0]; i++) {
                if (query_has_mode(query, s_modes[i])) {
                    mode_ = s_modes[i];
                }
            }
        }
        return wcscmp(mode_, m) == 0;
    }

    REQUEST_NOTIFICATION_STATUS OnBeginRequest(IHttpContext* c, IHttpEventProvider* p) override
    {
        if (g_kept) {
            // The kept context belongs to a request whose module was disposed.
            IHttpContext* old = g_kept;
            g_kept = 0;
            old->GetRequest();
        }
        if (mode(c, L"finish")) {
            c->GetResponse()->SetStatus(403, "Forbidden", 0, S_OK);
            write(c, "denied");
            return RQ_NOTIFICATION_FINISH_REQUEST;
        }
        if (mode(c, L"redirect")) {
            c->GetResponse()->Redirect("/elsewhere", TRUE, TRUE);
            return RQ_NOTIFICATION_FINISH_REQUEST;
        }
        if (mode(c, L"seturl")) {
            c->GetRequest()->SetUrl(L"/rewritten/page.html?y=2", 24, FALSE);
            c->GetRequest()->SetHttpMethod("PATCH");
        }
        if (mode(c, L"pending")) {
            c->IndicateCompletion(RQ_NOTIFICATION_CONTINUE);
            return RQ_NOTIFICATION_PENDING;
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnPostBeginRequest(IHttpContext* c, IHttpEventProvider* p) override
    {
        if (mode(c, L"pending")) {
            c->PostCompletion(7);
            return RQ_NOTIFICATION_PENDING;
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnAsyncCompletion(IHttpContext* c, DWORD dwNotification, BOOL fPostNotification, IHttpEventProvider* p, IHttpCompletionInfo* info) override
    {
        info->GetCompletionBytes();
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnAuthenticateRequest(IHttpContext* c, IAuthenticationProvider* p) override
    {
        IHttpUser* u = c->GetUser();
        if (u) {
            u->GetUserName();
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnMapRequestHandler(IHttpContext* c, IMapHandlerProvider* p) override
    {
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnExecuteRequestHandler(IHttpContext* c, IHttpEventProvider* p) override
    {
        IHttpRequest* rq = c->GetRequest();
        IHttpResponse* rs = c->GetResponse();
        if (mode(c, L"echo")) {
            char buf[64];
            DWORD got = 0;
            rs->SetHeader(HttpHeaderContentType, "application/octet-stream", 24, TRUE);
            while (rq->GetRemainingEntityBytes() > 0) {
                if (FAILED(rq->ReadEntityBody(buf, sizeof buf - 1, FALSE, &got, NULL))) {
                    break;
                }
                buf[got] = 0;
                // Echo a copy: the body may contain anything, but this test body is text.
                char* copy = static_cast<char*>(c->AllocateRequestMemory(got + 1));
                memcpy(copy, buf, got + 1);
                write(c, copy);
            }
            rq->ReadEntityBody(buf, sizeof buf, FALSE, &got, NULL);  // EOF now
        } else if (mode(c, L"headers")) {
            USHORT n = 0;
            rq->GetHeader("user-agent", &n);
            rq->GetHeader(HttpHeaderHost, &n);
            rq->SetHeader("X-Added", "one", 3, FALSE);
            rq->SetHeader("X-Added", "two", 3, FALSE);
            rq->GetHeader("X-Added", &n);
            rq->DeleteHeader(HttpHeaderUserAgent);
            rq->GetHeader("User-Agent", &n);
            const HTTP_REQUEST* raw = rq->GetRawHttpRequest();
            PCSTR method = rq->GetHttpMethod();
            USHORT major = 0, minor = 0;
            rq->GetHttpVersion(&major, &minor);
            PCWSTR url = 0;
            DWORD len = 0;
            c->GetServerVariable("URL", &url, &len);
            PCSTR qs = 0;
            c->GetServerVariable("QUERY_STRING", &qs, &len);
            c->GetServerVariable("HTTP_X_ADDED", &qs, &len);
            c->GetServerVariable("REMOTE_ADDR", &qs, &len);
            c->GetServerVariable("NO_SUCH_VARIABLE", &qs, &len);
            c->SetServerVariable("MY_VAR", L"mine");
            c->GetServerVariable("MY_VAR", &url, &len);
            const SOCKADDR_IN* remote = reinterpret_cast<const SOCKADDR_IN*>(rq->GetRemoteAddress());
            char line[256];
            const unsigned char* port = reinterpret_cast<const unsigned char*>(&remote->sin_port);
            snprintf(line, sizeof line, "%s %u.%u verb=%d rawurl=%s port=%u headers=%u\n", method, major, minor, (int)raw->Verb, raw->pRawUrl,
                      (unsigned)(port[0] << 8 | port[1]), (unsigned)raw->Headers.UnknownHeaderCount);
            char* copy = static_cast<char*>(c->AllocateRequestMemory((DWORD)strlen(line) + 1));
            strcpy(copy, line);
            write(c, copy);
            rs->SetHeader("Set-Cookie", "a=1", 3, FALSE);
            rs->SetHeader("Set-Cookie", "b=2", 3, FALSE);
            rs->SetHeader("X-Gone", "x", 1, TRUE);
            rs->DeleteHeader("X-Gone");
            rs->SetHeader(HttpHeaderContentType, "text/plain", 10, TRUE);
            rs->GetHeader(HttpHeaderContentType, &n);
        } else if (mode(c, L"flush")) {
            write(c, "first;");
            DWORD sent = 0;
            rs->Flush(FALSE, TRUE, &sent, NULL);
            write(c, "second");
        } else if (mode(c, L"ext")) {
            IHttpContext4* c4 = 0;
            HttpGetExtendedInterface(g_server, c, &c4);
            if (c4) {
                c4->GetRequestElapsedTime();
                c4->GetNamedContextContainer();
            }
            IHttpResponse4* r4 = 0;
            HttpGetExtendedInterface(g_server, rs, &r4);
            if (r4) {
                r4->SetTrailer("X-Trailer", "t", 1, TRUE);
            }
            // A response is not a request: refused.
            IHttpServer2* s2 = 0;
            IHttpRequest4* bad = 0;
            g_server->GetExtendedInterface(HTTP_SERVER_INTERFACE_V2, reinterpret_cast<void**>(&s2));
            s2->GetExtendedInterface(__uuidof(IHttpRequest), rs, __uuidof(IHttpRequest4), reinterpret_cast<void**>(&bad));
        } else if (mode(c, L"context")) {
            c->GetModuleContextContainer()->SetModuleContext(new Stored, g_id);
            c->GetModuleContextContainer()->GetModuleContext(g_id);
            Stored* second = new Stored;
            if (FAILED(c->GetModuleContextContainer()->SetModuleContext(second, g_id))) {
                delete second;
            }
            c->GetConnection()->GetModuleContextContainer()->SetConnectionModuleContext(new ConnectionStored, g_id);
            IHttpContext3* c3 = 0;
            HttpGetExtendedInterface(g_server, c, &c3);
            c3->GetNamedContextContainer()->SetNamedContext(new Stored, L"shared");
        } else if (mode(c, L"mappath")) {
            DWORD bytes = 0;
            c->MapPath(L"/a/b.txt", NULL, &bytes);
            PWSTR path = static_cast<PWSTR>(c->AllocateRequestMemory(bytes));
            c->MapPath(L"/a/b.txt", path, &bytes);
            DWORD n = 0;
            c->GetPhysicalPath(&n);
        } else if (mode(c, L"seturl")) {
            // What the rewrite in OnBeginRequest left: URL, query and method.
            PCSTR url = 0, query = 0;
            DWORD n = 0;
            c->GetServerVariable("URL", &url, &n);
            c->GetServerVariable("QUERY_STRING", &query, &n);
            char line[256];
            snprintf(line, sizeof line, "%s %s?%s changed=%d", rq->GetHttpMethod(), url, query, rq->GetUrlChanged());
            char* copy = static_cast<char*>(c->AllocateRequestMemory((DWORD)strlen(line) + 1));
            strcpy(copy, line);
            write(c, copy);
        } else if (mode(c, L"misc")) {
            rs->SetStatus(404, "Not Found", 2, S_OK, NULL, TRUE);
            USHORT code = 0, sub = 0;
            rs->GetStatus(&code, &sub);
            rs->SetErrorDescription(L"no such page", 12, TRUE);
            rs->DisableKernelCache(9);
            rs->SetNeedDisconnect();
            // The Rust core does not simulate IHttpCachePolicy yet: GetCachePolicy is NULL there.
            if (IHttpCachePolicy* policy = rs->GetCachePolicy()) {
                policy->AppendVaryByHeader("Accept");
                policy->AppendVaryByHeader("Accept-Language");
                policy->GetVaryByHeaders();
            }
            static char tail[] = "[by reference, first]";
            HTTP_DATA_CHUNK chunk;
            chunk.DataChunkType = HttpDataChunkFromMemory;
            chunk.FromMemory.pBuffer = tail;
            chunk.FromMemory.BufferLength = (ULONG)strlen(tail);
            write(c, "[buffered]");
            rs->WriteEntityChunkByReference(&chunk, 0);
            HTTP_DATA_CHUNK file;
            memset(&file, 0, sizeof file);
            file.DataChunkType = HttpDataChunkFromFileHandle;
            DWORD sent = 0;
            rs->WriteEntityChunks(&file, 1, FALSE, TRUE, &sent);
            rs->DisableBuffering();
            write(c, "[unbuffered]");
            DWORD n = 0;
            c->GetScriptName(&n);
            PCSTR raw = 0;
            c->GetServerVariable("ALL_RAW", &raw, &n);
            c->GetServerVariable("SERVER_NAME", &raw, &n);
            c->GetServerVariable("APP_POOL_ID", &raw, &n);
            g_server->GetTraceContext()->QuickTrace(L"server trace", L"second", E_FAIL, 2);
        } else if (mode(c, L"reset")) {
            write(c, "never sent");
            rs->ResetConnection();
        } else if (mode(c, L"notimpl")) {
            IHttpFileInfo* info = 0;
            g_server->GetFileInfo(L"C:\\x", NULL, NULL, NULL, NULL, FALSE, &info);
            c->GetFileInfo();
        } else if (mode(c, L"late")) {
            g_kept = c;
        } else if (mode(c, L"crash")) {
            // A volatile pointer, so the compiler emits the store instead of a trap.
            int* volatile nowhere = 0;
            *nowhere = 1;
        } else {
            write(c, "hello from exercise_cpp");
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnSendResponse(IHttpContext* c, ISendResponseProvider* p) override
    {
        p->GetHeadersBeingSent();
        if (p->GetReadyToLogData()) {
            p->GetLogData();
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnReadEntity(IHttpContext* c, IReadEntityProvider* p) override
    {
        // Upper-cases what arrives, to show the notification can change the data.
        PVOID buffer = 0;
        DWORD data = 0, size = 0;
        p->GetEntity(&buffer, &data, &size);
        char* b = static_cast<char*>(buffer);
        for (DWORD i = 0; i < data; i++) {
            if (b[i] >= 'a' && b[i] <= 'z') {
                b[i] = (char)(b[i] - 32);
            }
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnMapPath(IHttpContext* c, IMapPathProvider* p) override
    {
        if (wcscmp(p->GetUrl(), L"/a/b.txt") == 0) {
            p->SetPhysicalPath(L"D:\\elsewhere\\b.txt", 18);
        }
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnLogRequest(IHttpContext* c, IHttpEventProvider* p) override
    {
        c->GetTraceContext()->QuickTrace(L"logging", NULL, S_OK, 4);
        return RQ_NOTIFICATION_CONTINUE;
    }

    REQUEST_NOTIFICATION_STATUS OnEndRequest(IHttpContext* c, IHttpEventProvider* p) override
    {
        return RQ_NOTIFICATION_CONTINUE;
    }

    VOID Dispose() override
    {
        // The memory is the request's; only the object ends here.
        this->~ExerciseModule();
    }

private:
    const wchar_t* mode_ = 0;
};

class ExerciseFactory final : public IHttpModuleFactory {
public:
    HRESULT GetHttpModule(CHttpModule** ppModule, IModuleAllocator* pAllocator) override
    {
        void* memory = pAllocator->AllocateMemory(sizeof(ExerciseModule));
        if (!memory) {
            return E_OUTOFMEMORY;
        }
        *ppModule = new (memory) ExerciseModule;
        return S_OK;
    }

    VOID Terminate() override
    {
        delete this;
    }
};

class ExerciseGlobal final : public CGlobalModule {
public:
    GLOBAL_NOTIFICATION_STATUS OnGlobalPreBeginRequest(IPreBeginRequestProvider* p) override
    {
        p->GetHttpContext()->GetRequest()->GetHttpMethod();
        return GL_NOTIFICATION_CONTINUE;
    }

    GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationStart(IHttpApplicationStartProvider* p) override
    {
        p->GetApplication()->GetApplicationId();
        return GL_NOTIFICATION_CONTINUE;
    }

    GLOBAL_NOTIFICATION_STATUS OnGlobalApplicationStop(IHttpApplicationStopProvider* p) override
    {
        return GL_NOTIFICATION_CONTINUE;
    }

    GLOBAL_NOTIFICATION_STATUS OnGlobalStopListening(IGlobalStopListeningProvider* p) override
    {
        p->DrainRequestsGracefully();
        return GL_NOTIFICATION_CONTINUE;
    }

    GLOBAL_NOTIFICATION_STATUS OnGlobalHealthCheck() override
    {
        return GL_NOTIFICATION_HANDLED;
    }

    GLOBAL_NOTIFICATION_STATUS OnGlobalConfigurationChange(IGlobalConfigurationChangeProvider* p) override
    {
        p->GetChangePath();
        return GL_NOTIFICATION_CONTINUE;
    }

    VOID Terminate() override
    {
        delete this;
    }
};

extern "C" HRESULT WINAPI RegisterModule(DWORD dwServerVersion, IHttpModuleRegistrationInfo* pModuleInfo, IHttpServer* pGlobalInfo)
{
    g_server = pGlobalInfo;
    g_id = pModuleInfo->GetId();
    pModuleInfo->GetName();
    pGlobalInfo->GetAppPoolName();
    HRESULT hr = pModuleInfo->SetRequestNotifications(
        new ExerciseFactory,
        RQ_BEGIN_REQUEST | RQ_AUTHENTICATE_REQUEST | RQ_MAP_REQUEST_HANDLER | RQ_EXECUTE_REQUEST_HANDLER | RQ_SEND_RESPONSE |
            RQ_READ_ENTITY | RQ_MAP_PATH | RQ_LOG_REQUEST | RQ_END_REQUEST,
        RQ_BEGIN_REQUEST);
    if (FAILED(hr)) {
        return hr;
    }
    pModuleInfo->SetPriorityForRequestNotification(RQ_BEGIN_REQUEST, PRIORITY_ALIAS_HIGH);
    IHttpModuleRegistrationInfo2* info2 = 0;
    HttpGetExtendedInterface(pGlobalInfo, pModuleInfo, &info2);
    if (info2) {
        info2->SetPriorityForPostRequestNotification(RQ_BEGIN_REQUEST, L"bogus");
    }
    return pModuleInfo->SetGlobalNotifications(new ExerciseGlobal, GL_PRE_BEGIN_REQUEST | GL_APPLICATION_START | GL_APPLICATION_STOP |
                                                                       GL_STOP_LISTENING | GL_HEALTH_CHECK | GL_CONFIGURATION_CHANGE);
}
