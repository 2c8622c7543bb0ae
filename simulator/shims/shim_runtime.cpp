// shim_runtime.cpp: the registry behind shim_runtime.h (two chained hash tables over one set of
// entries, under one SRW lock), and what the MSVC C++ runtime would provide (operator new and
// delete over malloc/free, _purecall): the exe links Rust's std and mingw-w64's msvcrt only.
#include <stdio.h>
#include <stdlib.h>

#include "shim_runtime.h"

namespace {

struct Entry {
    void* outer;
    void* inner;
    int type;
    int kind;
    Entry* next_by_outer;
    Entry* next_by_inner;
};

SRWLOCK lock = SRWLOCK_INIT;
Entry** by_outer = nullptr;
Entry** by_inner = nullptr;
size_t buckets = 0;
size_t entries = 0;
size_t callbacks = 0;

size_t hash(const void* p, size_t salt)
{
    size_t h = reinterpret_cast<size_t>(p) ^ (salt * 0x9e3779b9u);
    h ^= h >> 17;
    h *= 0xed5ad4bbu;
    return (h ^ (h >> 11)) & (buckets - 1);
}

size_t inner_slot(const void* inner, int type, int kind)
{
    return hash(inner, static_cast<size_t>(type) * 4 + static_cast<size_t>(kind));
}

void* allocate(size_t n)
{
    void* p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("httpserv-simulator: out of memory\n", stderr);
        abort();
    }
    return p;
}

// Rebuilds both tables with twice the buckets (a power of two). Called with the lock held.
void grow()
{
    size_t old = buckets;
    Entry** old_outer = by_outer;
    Entry** old_inner = by_inner;
    buckets = old ? old * 2 : 64;
    by_outer = static_cast<Entry**>(allocate(buckets * sizeof(Entry*)));
    by_inner = static_cast<Entry**>(allocate(buckets * sizeof(Entry*)));
    for (size_t i = 0; i < old; i++) {
        for (Entry* e = old_outer[i]; e;) {
            Entry* next = e->next_by_outer;
            e->next_by_outer = by_outer[hash(e->outer, 0)];
            by_outer[hash(e->outer, 0)] = e;
            size_t slot = inner_slot(e->inner, e->type, e->kind);
            e->next_by_inner = by_inner[slot];
            by_inner[slot] = e;
            e = next;
        }
    }
    free(old_outer);
    free(old_inner);
}

} // namespace

bool shim_inner_of(const void* outer, int kind, void** inner)
{
    bool found = false;
    AcquireSRWLockShared(&lock);
    if (buckets) {
        for (Entry* e = by_outer[hash(outer, 0)]; e; e = e->next_by_outer) {
            if (e->outer == outer && e->kind == kind) {
                *inner = e->inner;
                found = true;
                break;
            }
        }
    }
    ReleaseSRWLockShared(&lock);
    return found;
}

void* shim_get(void* inner, int type, int kind, ShimCreate create)
{
    AcquireSRWLockExclusive(&lock);
    if (entries >= buckets) {
        grow();
    }
    size_t slot = inner_slot(inner, type, kind);
    for (Entry* e = by_inner[slot]; e; e = e->next_by_inner) {
        if (e->inner == inner && e->type == type && e->kind == kind) {
            void* outer = e->outer;
            ReleaseSRWLockExclusive(&lock);
            return outer;
        }
    }
    Entry* e = static_cast<Entry*>(allocate(sizeof(Entry)));
    e->outer = create(inner);
    e->inner = inner;
    e->type = type;
    e->kind = kind;
    e->next_by_inner = by_inner[slot];
    by_inner[slot] = e;
    e->next_by_outer = by_outer[hash(e->outer, 0)];
    by_outer[hash(e->outer, 0)] = e;
    entries++;
    ReleaseSRWLockExclusive(&lock);
    return e->outer;
}

void shim_forget(const void* outer)
{
    AcquireSRWLockExclusive(&lock);
    if (buckets) {
        Entry** link = &by_outer[hash(outer, 0)];
        while (*link && (*link)->outer != outer) {
            link = &(*link)->next_by_outer;
        }
        if (Entry* e = *link) {
            *link = e->next_by_outer;
            Entry** inner_link = &by_inner[inner_slot(e->inner, e->type, e->kind)];
            while (*inner_link != e) {
                inner_link = &(*inner_link)->next_by_inner;
            }
            *inner_link = e->next_by_inner;
            free(e);
            entries--;
        }
    }
    ReleaseSRWLockExclusive(&lock);
}

ShimCallback* shim_callback_new(void* callback, void* context)
{
    ShimCallback* record = static_cast<ShimCallback*>(allocate(sizeof(ShimCallback)));
    record->callback = callback;
    record->context = context;
    AcquireSRWLockExclusive(&lock);
    callbacks++;
    ReleaseSRWLockExclusive(&lock);
    return record;
}

void shim_callback_free(ShimCallback* record)
{
    AcquireSRWLockExclusive(&lock);
    callbacks--;
    ReleaseSRWLockExclusive(&lock);
    free(record);
}

extern "C" size_t httpserv_shim_count(void)
{
    AcquireSRWLockShared(&lock);
    size_t n = entries + callbacks;
    ReleaseSRWLockShared(&lock);
    return n;
}

// What the MSVC runtime would define (absent when linking against mingw-w64's msvcrt).
#if defined(__MINGW64_VERSION_MAJOR)
void* operator new(size_t n)
{
    return allocate(n);
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
    fputs("httpserv-simulator: pure virtual function call\n", stderr);
    fflush(stderr);
    TerminateProcess(GetCurrentProcess(), 4);
    return 0;
}
#endif
