// sim.h: what every part of the IIS simulator shares: the C headers, small containers and
// string helpers (there is no C++ standard library here: clang builds for the MSVC ABI but only
// mingw-w64's C headers and msvcrt are available), the process-wide state and the counters
// that end up in the summary line.
#ifndef IIS_SIMULATOR_SIM_H
#define IIS_SIMULATOR_SIM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "httpserv.h"

// Placement new. <new> is not available (no MSVC STL), so the simulator declares its own.
inline void* operator new(size_t, void* where) noexcept { return where; }
inline void operator delete(void*, void*) noexcept {}

// IIS 10's version as the simulator reports it to RegisterModule: major version in the high
// word, minor in the low word. Microsoft does not document the exact value IIS passes, so this
// is the simulator's convention; --server-version overrides it.
#define SIM_SERVER_VERSION_IIS10 0x000A0000u

// Where the simulated site lives. MapPath and GetPhysicalPath map URLs below this directory.
#define SIM_WWWROOT L"C:\\inetpub\\wwwroot"

// ---------------------------------------------------------------------------------------------
// A growable array for trivially copyable values. Zero-initialised memory is a valid empty Vec,
// so it can live in globals without a constructor (no global constructors in this program).
template <class T>
struct Vec {
    T* p;
    unsigned n;
    unsigned cap;

    void push(const T& v)
    {
        if (n == cap) {
            unsigned nc = cap ? cap * 2 : 8;
            T* np = static_cast<T*>(realloc(p, nc * sizeof(T)));
            if (!np) {
                abort();
            }
            p = np;
            cap = nc;
        }
        p[n++] = v;
    }
    void remove_at(unsigned i)
    {
        memmove(p + i, p + i + 1, (n - i - 1) * sizeof(T));
        n--;
    }
    void release()
    {
        free(p);
        p = 0;
        n = cap = 0;
    }
};

// A bump allocator whose blocks are all freed together. Strings that the simulator hands to
// modules (header values, URLs, server variables) live here until the request object itself is
// retired, so pointers a module got earlier stay valid even after a header is replaced.
struct Arena {
    struct Block {
        Block* next;
        size_t size;
        size_t used;
    };
    Block* head;

    void* alloc(size_t n);
    char* dup(const char* s, size_t n);         // NUL-terminated copy of n bytes
    char* dup(const char* s) { return dup(s, s ? strlen(s) : 0); }
    wchar_t* wdup(const wchar_t* s, size_t n);  // NUL-terminated copy of n UTF-16 units
    wchar_t* wdup(const wchar_t* s) { return wdup(s, s ? wcslen(s) : 0); }
    wchar_t* widen(const char* s, size_t n, DWORD* out_len);   // UTF-8 -> UTF-16
    char* narrow(const wchar_t* s, size_t n, DWORD* out_len);  // UTF-16 -> UTF-8
    void release();
};

// A growable byte buffer (request bodies, the bytes a response sent).
struct Bytes {
    BYTE* p;
    size_t n;
    size_t cap;
    void append(const void* data, size_t len);
    void release();
};

// ASCII case-insensitive comparisons (header and server variable names).
bool ieq(const char* a, const char* b);
bool ieqn(const char* a, size_t alen, const char* b);
bool wieq(const wchar_t* a, const wchar_t* b);

// ---------------------------------------------------------------------------------------------
// Counters for the summary line.
struct Stats {
    ULONGLONG requests;
    ULONGLONG calls;               // calls a module made into the simulator
    ULONGLONG not_implemented;     // ... of which reached an E_NOTIMPL stub
    ULONGLONG after_dispose;       // ... of which reached a request whose module was disposed
    ULONGLONG notifications;       // request-level notifications delivered
    ULONGLONG global_notifications;
    ULONGLONG pending;             // RQ_NOTIFICATION_PENDING returns
    ULONGLONG modules_created;     // successful GetHttpModule calls
    ULONGLONG modules_disposed;    // CHttpModule::Dispose calls
    ULONGLONG get_module_failures;
    ULONGLONG factories_registered;
    ULONGLONG factories_terminated;
    ULONGLONG globals_registered;
    ULONGLONG globals_terminated;
    ULONGLONG request_memory;      // bytes through AllocateRequestMemory/IModuleAllocator
    ULONGLONG stored_contexts_cleaned;
    ULONGLONG user_references;     // IHttpUser::ReferenceUser minus DereferenceUser
    ULONGLONG crashes;
};

class Server;
class RegistrationInfo;
class Site;
class Application;
class TraceContext;
class RequestState;
struct Script;

// One module DLL's registration, as RegisterModule left it.
struct Registration {
    IHttpModuleFactory* factory;
    DWORD request_mask;
    DWORD post_mask;
    CGlobalModule* global;
    DWORD global_mask;
};

// Process-wide state. A plain aggregate so that the global instance is zero-initialised
// without a constructor.
struct Sim {
    bool transcript;            // print the transcript (off in --requests benchmark mode)
    Stats st;
    Registration reg;
    DWORD server_version;
    const wchar_t* module_path;
    const wchar_t* module_name;
    Server* server;
    RegistrationInfo* reginfo;
    Site* site;
    Application* app;
    TraceContext* server_trace;
    RequestState* current;      // the request being processed, if any
    unsigned request_seq;       // number of the last request started
    const char* first_violation;
    // Retired requests stay allocated for a while so that a module calling into a request
    // after its Dispose is detected (and reported) instead of touching freed memory.
    RequestState* retired[8];
    unsigned retired_next;
};

extern Sim g;

#endif
