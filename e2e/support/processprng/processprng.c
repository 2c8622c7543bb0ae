/* Test scaffolding only: a stand-in bcryptprimitives.dll for Wine 8, which lacks the DLL (real Windows ships it). */
/*
 * Rust's std for *-windows-* imports ProcessPrng from bcryptprimitives.dll
 * (HashMap seeds, etc.). Wine 8.0 has no such DLL, so a Rust DLL fails to load
 * there. Put the DLL built from this file next to the test program.
 *
 * Build (x64):
 *   x86_64-w64-mingw32-gcc -O2 -shared -s -o bcryptprimitives.dll \
 *       processprng.c bcryptprimitives.def -ladvapi32
 * x86: i686-w64-mingw32-gcc, same arguments plus -Wl,--enable-stdcall-fixup
 * (maps the .def's undecorated ProcessPrng to _ProcessPrng@8 without a warning;
 * the export stays undecorated, as Rust's import expects).
 * Runs under Wine with advapi32's RtlGenRandom; not needed (nor wanted) on Windows.
 */
#include <windows.h>

/* advapi32!SystemFunction036, better known as RtlGenRandom. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000u ? 0x10000000u : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    /* Like the real one, it always reports success. */
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
