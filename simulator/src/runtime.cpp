// runtime.cpp: the few things the MSVC C++ runtime would provide. The simulator is compiled for
// the MSVC ABI but linked against mingw-w64's msvcrt, which has no MSVC-mangled operator new or
// delete, so they are defined here over malloc/free. The symbols are MSVC-mangled, so they do
// not clash with libstdc++ if a Rust or mingw program links these objects in.
#include "sim.h"

// Only when building against mingw-w64 (clang for the MSVC ABI, or a Rust *-windows-gnu
// program): a build with the real MSVC toolchain has its runtime, which defines all of these.
#if defined(__MINGW64_VERSION_MAJOR)

void* operator new(size_t n)
{
    void* p = malloc(n ? n : 1);
    if (!p) {
        // No exceptions in this program: running out of memory ends it.
        fputs("error: out of memory\n", stderr);
        abort();
    }
    return p;
}

void* operator new[](size_t n)
{
    return operator new(n);
}

void operator delete(void* p) noexcept
{
    free(p);
}

void operator delete[](void* p) noexcept
{
    free(p);
}

void operator delete(void* p, size_t) noexcept
{
    free(p);
}

void operator delete[](void* p, size_t) noexcept
{
    free(p);
}

// A pure virtual call means a module (or the simulator) called through a half-built or
// destroyed object. Report it in the transcript's terms and stop.
extern "C" int _purecall()
{
    fflush(stdout);
    fputs("crash: pure virtual function call\n", stdout);
    fflush(stdout);
    TerminateProcess(GetCurrentProcess(), 4);
    return 0;
}

// clang emits a reference to _fltused in MSVC-ABI objects that use floating point (the
// benchmark's requests/s); the MSVC CRT defines it, mingw-w64 does not.
extern "C" int _fltused = 0;

#endif
