// async_yield_cpp.cpp: a suspended request's round trip written by hand, as C++ IIS modules do
// it (the ASP.NET Core Module's pattern), and the C++ side of the async benchmark
// (scripts/bench.sh sim-async) against the Rust `async fn` module examples/async_yield.
//
// In RQ_EXECUTE_REQUEST_HANDLER it posts a completion (IHttpContext::PostCompletion(0)) and
// returns RQ_NOTIFICATION_PENDING; IIS then calls CHttpModule::OnAsyncCompletion on one of its
// threads, which returns RQ_NOTIFICATION_CONTINUE. IIS may run that OnAsyncCompletion on another
// thread before OnExecuteRequestHandler has returned, so both hold the module's lock, as ANCM's
// ASPNET_CORE_PROXY_MODULE does ("We don't want OnAsyncCompletion to complete request before
// OnExecuteRequestHandler exits", src/Servers/IIS/AspNetCoreModuleV2/AspNetCore/proxymodule.cpp).
#include <stdlib.h>

#include "httpserv.h"

// There is no MSVC runtime in a clang + mingw-w64 build: the module supplies the allocation
// functions and the pure-call handler that MSVC's runtime would.
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

// Holds an SRW lock exclusively for its scope (ANCM's SRWExclusiveLock).
class ExclusiveLock {
public:
    explicit ExclusiveLock(SRWLOCK& lock) : lock_(lock) { AcquireSRWLockExclusive(&lock_); }
    ~ExclusiveLock() { ReleaseSRWLockExclusive(&lock_); }

private:
    SRWLOCK& lock_;
};

// One instance per request, in the request's memory (IModuleAllocator), as ANCM allocates its
// module: Dispose only destroys it.
class AsyncYieldModule final : public CHttpModule {
public:
    AsyncYieldModule() { InitializeSRWLock(&lock_); }

    REQUEST_NOTIFICATION_STATUS OnExecuteRequestHandler(IHttpContext* pHttpContext, IHttpEventProvider* pProvider) override
    {
        // Held until the status below has been returned: the lock's destructor runs after it.
        ExclusiveLock lock(lock_);
        HRESULT hr = pHttpContext->PostCompletion(0);
        if (FAILED(hr)) {
            // No completion will come: finish here rather than leave the request pending.
            pHttpContext->GetResponse()->SetStatus(500, "Internal Server Error", 0, hr);
            return RQ_NOTIFICATION_FINISH_REQUEST;
        }
        return RQ_NOTIFICATION_PENDING;
    }

    REQUEST_NOTIFICATION_STATUS OnAsyncCompletion(IHttpContext* pHttpContext, DWORD dwNotification, BOOL fPostNotification, IHttpEventProvider* pProvider, IHttpCompletionInfo* pCompletionInfo) override
    {
        // Waits for the notification that posted this completion to have returned PENDING.
        ExclusiveLock lock(lock_);
        return RQ_NOTIFICATION_CONTINUE;
    }

    VOID Dispose() override
    {
        // The memory is the request's; only the object ends here.
        this->~AsyncYieldModule();
    }

private:
    SRWLOCK lock_;
};

class AsyncYieldFactory final : public IHttpModuleFactory {
public:
    HRESULT GetHttpModule(CHttpModule** ppModule, IModuleAllocator* pAllocator) override
    {
        void* memory = pAllocator->AllocateMemory(sizeof(AsyncYieldModule));
        if (!memory) {
            return E_OUTOFMEMORY;
        }
        *ppModule = new (memory) AsyncYieldModule;
        return S_OK;
    }

    // IIS calls this once at shutdown; the factory was allocated in RegisterModule.
    VOID Terminate() override
    {
        delete this;
    }
};

// Exported undecorated as "RegisterModule" through async_yield_cpp.def.
extern "C" HRESULT WINAPI RegisterModule(DWORD dwServerVersion, IHttpModuleRegistrationInfo* pModuleInfo, IHttpServer* pGlobalInfo)
{
    AsyncYieldFactory* factory = new AsyncYieldFactory;
    if (!factory) {
        return HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
    }
    return pModuleInfo->SetRequestNotifications(factory, RQ_EXECUTE_REQUEST_HANDLER, 0);
}
