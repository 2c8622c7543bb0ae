// cancel_io_cpp.cpp: the seed module, a C++ IIS module written against the project's httpserv.h
// and built by clang for the MSVC ABI. It registers for RQ_SEND_RESPONSE and, whenever a
// response is about to be sent, cancels the request's pending I/O with IHttpContext::CancelIo.
// It is the C++ reference the simulator tests run first, and the C++ side of the Rust-vs-C++
// benchmark.
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

extern "C" int _purecall()
{
    abort();
}

// One instance per request; IIS disposes it when the request ends (CHttpModule::Dispose
// deletes it).
class CancelIoModule final : public CHttpModule {
public:
    REQUEST_NOTIFICATION_STATUS OnSendResponse(IHttpContext* pHttpContext, ISendResponseProvider* pProvider) override
    {
        // Anything still being sent to or received from the client is abandoned; the result is
        // not needed to let the response go on.
        pHttpContext->CancelIo();
        return RQ_NOTIFICATION_CONTINUE;
    }
};

class CancelIoModuleFactory final : public IHttpModuleFactory {
public:
    HRESULT GetHttpModule(CHttpModule** ppModule, IModuleAllocator* pAllocator) override
    {
        CancelIoModule* module = new CancelIoModule;
        if (!module) {
            return HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
        }
        *ppModule = module;
        return S_OK;
    }

    // IIS calls this once at shutdown; the factory was allocated in RegisterModule.
    VOID Terminate() override
    {
        delete this;
    }
};

// Exported undecorated as "RegisterModule" through cancel_io_cpp.def.
extern "C" HRESULT WINAPI RegisterModule(DWORD dwServerVersion, IHttpModuleRegistrationInfo* pModuleInfo, IHttpServer* pGlobalInfo)
{
    CancelIoModuleFactory* factory = new CancelIoModuleFactory;
    if (!factory) {
        return HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY);
    }
    return pModuleInfo->SetRequestNotifications(factory, RQ_SEND_RESPONSE, 0);
}
