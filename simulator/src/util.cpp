// util.cpp: the arena, byte buffer and string helpers declared in sim.h.
#include "sim.h"

// The one global: zero-initialised, no constructor runs.
Sim g;

enum { ARENA_BLOCK = 4096 };

void* Arena::alloc(size_t n)
{
    // 16-byte alignment, like malloc on x64, so modules can put any object in request memory.
    n = (n + 15) & ~(size_t)15;
    if (!head || head->size - head->used < n) {
        size_t size = n > ARENA_BLOCK - 64 ? n : ARENA_BLOCK - 64;
        Block* b = static_cast<Block*>(malloc(sizeof(Block) + 16 + size));
        if (!b) {
            abort();
        }
        b->size = size;
        b->used = 0;
        if (head && n > ARENA_BLOCK / 2) {
            // A big allocation gets its own block behind the current one, so the current
            // block's free space is not wasted.
            b->next = head->next;
            head->next = b;
            b->used = n;
            return reinterpret_cast<char*>(b) + ((sizeof(Block) + 15) & ~(size_t)15);
        }
        b->next = head;
        head = b;
    }
    char* base = reinterpret_cast<char*>(head) + ((sizeof(Block) + 15) & ~(size_t)15);
    void* p = base + head->used;
    head->used += n;
    return p;
}

char* Arena::dup(const char* s, size_t n)
{
    char* d = static_cast<char*>(alloc(n + 1));
    if (n) {
        memcpy(d, s, n);
    }
    d[n] = 0;
    return d;
}

wchar_t* Arena::wdup(const wchar_t* s, size_t n)
{
    wchar_t* d = static_cast<wchar_t*>(alloc((n + 1) * sizeof(wchar_t)));
    if (n) {
        memcpy(d, s, n * sizeof(wchar_t));
    }
    d[n] = 0;
    return d;
}

wchar_t* Arena::widen(const char* s, size_t n, DWORD* out_len)
{
    int need = n ? MultiByteToWideChar(CP_UTF8, 0, s, (int)n, NULL, 0) : 0;
    wchar_t* d = static_cast<wchar_t*>(alloc(((size_t)need + 1) * sizeof(wchar_t)));
    if (need) {
        MultiByteToWideChar(CP_UTF8, 0, s, (int)n, d, need);
    }
    d[need] = 0;
    if (out_len) {
        *out_len = (DWORD)need;
    }
    return d;
}

char* Arena::narrow(const wchar_t* s, size_t n, DWORD* out_len)
{
    int need = n ? WideCharToMultiByte(CP_UTF8, 0, s, (int)n, NULL, 0, NULL, NULL) : 0;
    char* d = static_cast<char*>(alloc((size_t)need + 1));
    if (need) {
        WideCharToMultiByte(CP_UTF8, 0, s, (int)n, d, need, NULL, NULL);
    }
    d[need] = 0;
    if (out_len) {
        *out_len = (DWORD)need;
    }
    return d;
}

void Arena::release()
{
    while (head) {
        Block* next = head->next;
        free(head);
        head = next;
    }
}

void Bytes::append(const void* data, size_t len)
{
    if (!len) {
        return;
    }
    if (n + len > cap) {
        size_t nc = cap ? cap : 256;
        while (nc < n + len) {
            nc *= 2;
        }
        BYTE* np = static_cast<BYTE*>(realloc(p, nc));
        if (!np) {
            abort();
        }
        p = np;
        cap = nc;
    }
    memcpy(p + n, data, len);
    n += len;
}

void Bytes::release()
{
    free(p);
    p = 0;
    n = cap = 0;
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

bool ieq(const char* a, const char* b)
{
    while (*a && *b) {
        if (lower(*a) != lower(*b)) {
            return false;
        }
        a++;
        b++;
    }
    return *a == *b;
}

bool ieqn(const char* a, size_t alen, const char* b)
{
    for (size_t i = 0; i < alen; i++) {
        if (!b[i] || lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return b[alen] == 0;
}

bool wieq(const wchar_t* a, const wchar_t* b)
{
    while (*a && *b) {
        wchar_t x = (*a >= L'A' && *a <= L'Z') ? (wchar_t)(*a + 32) : *a;
        wchar_t y = (*b >= L'A' && *b <= L'Z') ? (wchar_t)(*b + 32) : *b;
        if (x != y) {
            return false;
        }
        a++;
        b++;
    }
    return *a == *b;
}
