// shim_runtime.h: the bookkeeping under the generated shims (shims.generated.cpp): a registry
// of forwarders (shims of core objects, proxies of module objects) and callback records. No IIS
// semantics: the generated code decides what to wrap, this only remembers it.
#pragma once

#include <windows.h>

enum ShimKind {
    SHIM_KIND_SHIM = 1,  // wraps a core object for the module
    SHIM_KIND_PROXY = 2, // wraps a module object for the core
};

typedef void* (*ShimCreate)(void* inner);

// Whether `outer` is a live forwarder of `kind`; if so, *inner is the object it wraps.
bool shim_inner_of(const void* outer, int kind, void** inner);
// The forwarder of (inner, type, kind), created by `create` the first time.
void* shim_get(void* inner, int type, int kind, ShimCreate create);
// Drops `outer` from the registry (its object ended; the caller deletes it).
void shim_forget(const void* outer);

// A module's callback and its context, passed to the core as the context of a trampoline.
struct ShimCallback {
    void* callback;
    void* context;
};
ShimCallback* shim_callback_new(void* callback, void* context);
void shim_callback_free(ShimCallback* record);

// Live forwarders and callback records (for tests: bounded across requests).
extern "C" size_t httpserv_shim_count(void);
