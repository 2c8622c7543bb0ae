// transcript.h: the simulator's output. Every event is one line on stdout with a stable prefix
// (load, call, enter, notify, request, response, ...), so tests can assert on lines. Also the
// bookkeeping every module-facing method does on entry (count the call, catch calls into a
// request that is over) and the E_NOTIMPL stubs.
#ifndef IIS_SIMULATOR_TRANSCRIPT_H
#define IIS_SIMULATOR_TRANSCRIPT_H

#include "sim.h"

// Print one transcript line (printf format, no trailing newline) if the transcript is on.
void tx_line(const char* fmt, ...);
#define TX(...)                   \
    do {                          \
        if (g.transcript) {       \
            tx_line(__VA_ARGS__); \
        }                         \
    } while (0)

// Print one line whatever the mode (errors, summary, bench).
void out_line(const char* fmt, ...);
void out_flush();

// Quoted, escaped, length-limited renderings for the transcript. They return pointers into a
// small ring of static buffers, valid until a few more calls; NULL renders as NULL. len < 0
// means NUL-terminated.
const char* qa(const char* s, long len = -1);
const char* qw(const wchar_t* s, long len = -1);
// Unquoted escaped bytes (response bodies).
const char* qbytes(const void* p, size_t len, size_t limit);

// Names for the transcript.
const char* hr_name(HRESULT hr);
const char* status_name(REQUEST_NOTIFICATION_STATUS s);
const char* global_status_name(GLOBAL_NOTIFICATION_STATUS s);
const char* request_mask_names(DWORD mask);   // "RQ_BEGIN_REQUEST|RQ_SEND_RESPONSE" or "0"
const char* global_mask_names(DWORD mask);
const char* bool_name(BOOL b);

// Anything a module can call that belongs to one request.
struct Owner {
    unsigned request_number;
    bool dead;      // the request ended: its module was disposed
};

// Entry bookkeeping for a module-facing method: counts the call and reports a call into a
// request that already ended. `what` is "Interface::Method".
inline void track(const Owner* owner, const char* what)
{
    g.st.calls++;
    if (owner && owner->dead) {
        void report_after_dispose(const Owner* owner, const char* what);
        report_after_dispose(owner, what);
    }
}

// The stubs: count, print "call X -> E_NOTIMPL (not implemented)" and return the value.
HRESULT not_implemented(const Owner* owner, const char* what);
void not_implemented_void(const Owner* owner, const char* what);
void* not_implemented_null(const Owner* owner, const char* what);
BOOL not_implemented_false(const Owner* owner, const char* what);

#endif
