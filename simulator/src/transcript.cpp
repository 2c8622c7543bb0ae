// transcript.cpp: formatting and printing of transcript lines, the names of HRESULTs,
// notification masks and statuses, and the bookkeeping shared by all module-facing methods.
#include "transcript.h"

// The line buffer is static: lines are formatted one at a time on one thread.
static char s_line[8192];

static void emit(const char* fmt, va_list ap)
{
    int n = vsnprintf(s_line, sizeof(s_line) - 2, fmt, ap);
    if (n < 0 || n > (int)sizeof(s_line) - 2) {
        n = (int)strlen(s_line);
    }
    s_line[n] = '\n';
    fwrite(s_line, 1, (size_t)n + 1, stdout);
    // Flushed per line so that the transcript interleaves correctly with anything the module
    // itself writes to the console (a Rust module writes with WriteFile, not through msvcrt).
    fflush(stdout);
}

void tx_line(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void out_line(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void out_flush()
{
    fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Quoting. A ring of buffers lets one printf use several renderings at once.

// At most QUOTE_LIMIT characters, each escaped to at most 10 bytes, plus quotes and a suffix.
enum { QUOTE_BUFFERS = 8, QUOTE_LIMIT = 200, QUOTE_SIZE = QUOTE_LIMIT * 10 + 64 };
static char s_quote[QUOTE_BUFFERS][QUOTE_SIZE];
static unsigned s_quote_next;

static char* next_quote_buffer()
{
    char* b = s_quote[s_quote_next];
    s_quote_next = (s_quote_next + 1) % QUOTE_BUFFERS;
    return b;
}

// Appends one code point, escaped if it is not printable ASCII; returns the new position.
static size_t put_escaped(char* b, size_t at, unsigned long c, bool quoted)
{
    if (c == '\\' || (quoted && c == '"')) {
        b[at++] = '\\';
        b[at++] = (char)c;
    } else if (c == '\r') {
        b[at++] = '\\';
        b[at++] = 'r';
    } else if (c == '\n') {
        b[at++] = '\\';
        b[at++] = 'n';
    } else if (c == '\t') {
        b[at++] = '\\';
        b[at++] = 't';
    } else if (c >= 0x20 && c < 0x7f) {
        b[at++] = (char)c;
    } else if (c < 0x100) {
        at += (size_t)snprintf(b + at, 8, "\\x%02lx", c);
    } else {
        at += (size_t)snprintf(b + at, 12, "\\u{%lx}", c);
    }
    return at;
}

const char* qa(const char* s, long len)
{
    if (!s) {
        return "NULL";
    }
    size_t n = len < 0 ? strlen(s) : (size_t)len;
    char* b = next_quote_buffer();
    size_t at = 0;
    b[at++] = '"';
    size_t i = 0;
    for (; i < n && i < QUOTE_LIMIT; i++) {
        at = put_escaped(b, at, (unsigned char)s[i], true);
    }
    b[at++] = '"';
    if (i < n) {
        at += (size_t)snprintf(b + at, 40, "...(%lu bytes)", (unsigned long)n);
    }
    b[at] = 0;
    return b;
}

const char* qw(const wchar_t* s, long len)
{
    if (!s) {
        return "NULL";
    }
    size_t n = len < 0 ? wcslen(s) : (size_t)len;
    char* b = next_quote_buffer();
    size_t at = 0;
    b[at++] = '"';
    size_t i = 0;
    for (; i < n && i < QUOTE_LIMIT; i++) {
        at = put_escaped(b, at, (unsigned short)s[i], true);
    }
    b[at++] = '"';
    if (i < n) {
        at += (size_t)snprintf(b + at, 40, "...(%lu chars)", (unsigned long)n);
    }
    b[at] = 0;
    return b;
}

// Bodies can be long, so they get one larger buffer of their own.
static char s_body[4 * 4096 + 64];

const char* qbytes(const void* p, size_t len, size_t limit)
{
    const unsigned char* s = static_cast<const unsigned char*>(p);
    if (limit > 4096) {
        limit = 4096;
    }
    size_t at = 0;
    size_t i = 0;
    for (; i < len && i < limit; i++) {
        at = put_escaped(s_body, at, s[i], false);
    }
    if (i < len) {
        at += (size_t)snprintf(s_body + at, 40, "...");
    }
    s_body[at] = 0;
    return s_body;
}

// ---------------------------------------------------------------------------------------------
// Names.

const char* hr_name(HRESULT hr)
{
    switch ((unsigned long)hr) {
    case 0x00000000: return "S_OK";
    case 0x00000001: return "S_FALSE";
    case 0x80004001: return "E_NOTIMPL";
    case 0x80004002: return "E_NOINTERFACE";
    case 0x80004003: return "E_POINTER";
    case 0x80004005: return "E_FAIL";
    case 0x8000FFFF: return "E_UNEXPECTED";
    case 0x80070057: return "E_INVALIDARG";
    case 0x8007000E: return "E_OUTOFMEMORY";
    case 0x80070008: return "HRESULT_FROM_WIN32(ERROR_NOT_ENOUGH_MEMORY)";
    case 0x80070026: return "HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)";
    case 0x80070055: return "HRESULT_FROM_WIN32(ERROR_ALREADY_ASSIGNED)";
    case 0x8007007A: return "HRESULT_FROM_WIN32(ERROR_INSUFFICIENT_BUFFER)";
    case 0x80070585: return "HRESULT_FROM_WIN32(ERROR_INVALID_INDEX)";
    case 0x80070490: return "HRESULT_FROM_WIN32(ERROR_NOT_FOUND)";
    case 0x80070032: return "HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED)";
    case 0x80070006: return "HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)";
    case 0x800703E3: return "HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED)";
    }
    static char b[4][16];
    static unsigned i;
    char* out = b[i++ % 4];
    snprintf(out, 16, "0x%08lX", (unsigned long)hr);
    return out;
}

const char* status_name(REQUEST_NOTIFICATION_STATUS s)
{
    switch (s) {
    case RQ_NOTIFICATION_CONTINUE: return "RQ_NOTIFICATION_CONTINUE";
    case RQ_NOTIFICATION_PENDING: return "RQ_NOTIFICATION_PENDING";
    case RQ_NOTIFICATION_FINISH_REQUEST: return "RQ_NOTIFICATION_FINISH_REQUEST";
    }
    static char b[32];
    snprintf(b, sizeof b, "invalid(%d)", (int)s);
    return b;
}

const char* global_status_name(GLOBAL_NOTIFICATION_STATUS s)
{
    switch (s) {
    case GL_NOTIFICATION_CONTINUE: return "GL_NOTIFICATION_CONTINUE";
    case GL_NOTIFICATION_HANDLED: return "GL_NOTIFICATION_HANDLED";
    }
    static char b[32];
    snprintf(b, sizeof b, "invalid(%d)", (int)s);
    return b;
}

const char* bool_name(BOOL b)
{
    return b ? "TRUE" : "FALSE";
}

struct MaskName {
    DWORD bit;
    const char* name;
};

static const MaskName s_request_bits[] = {
    {RQ_BEGIN_REQUEST, "RQ_BEGIN_REQUEST"},
    {RQ_AUTHENTICATE_REQUEST, "RQ_AUTHENTICATE_REQUEST"},
    {RQ_AUTHORIZE_REQUEST, "RQ_AUTHORIZE_REQUEST"},
    {RQ_RESOLVE_REQUEST_CACHE, "RQ_RESOLVE_REQUEST_CACHE"},
    {RQ_MAP_REQUEST_HANDLER, "RQ_MAP_REQUEST_HANDLER"},
    {RQ_ACQUIRE_REQUEST_STATE, "RQ_ACQUIRE_REQUEST_STATE"},
    {RQ_PRE_EXECUTE_REQUEST_HANDLER, "RQ_PRE_EXECUTE_REQUEST_HANDLER"},
    {RQ_EXECUTE_REQUEST_HANDLER, "RQ_EXECUTE_REQUEST_HANDLER"},
    {RQ_RELEASE_REQUEST_STATE, "RQ_RELEASE_REQUEST_STATE"},
    {RQ_UPDATE_REQUEST_CACHE, "RQ_UPDATE_REQUEST_CACHE"},
    {RQ_LOG_REQUEST, "RQ_LOG_REQUEST"},
    {RQ_END_REQUEST, "RQ_END_REQUEST"},
    {RQ_SEND_RESPONSE_STATUS_AND_HEADERS, "RQ_SEND_RESPONSE_STATUS_AND_HEADERS"},
    {RQ_CUSTOM_NOTIFICATION, "RQ_CUSTOM_NOTIFICATION"},
    {RQ_SEND_RESPONSE, "RQ_SEND_RESPONSE"},
    {RQ_READ_ENTITY, "RQ_READ_ENTITY"},
    {RQ_MAP_PATH, "RQ_MAP_PATH"},
};

static const MaskName s_global_bits[] = {
    {GL_STOP_LISTENING, "GL_STOP_LISTENING"},
    {GL_CACHE_CLEANUP, "GL_CACHE_CLEANUP"},
    {GL_CACHE_OPERATION, "GL_CACHE_OPERATION"},
    {GL_HEALTH_CHECK, "GL_HEALTH_CHECK"},
    {GL_CONFIGURATION_CHANGE, "GL_CONFIGURATION_CHANGE"},
    {GL_FILE_CHANGE, "GL_FILE_CHANGE"},
    {GL_PRE_BEGIN_REQUEST, "GL_PRE_BEGIN_REQUEST"},
    {GL_APPLICATION_START, "GL_APPLICATION_START"},
    {GL_APPLICATION_RESOLVE_MODULES, "GL_APPLICATION_RESOLVE_MODULES"},
    {GL_APPLICATION_STOP, "GL_APPLICATION_STOP"},
    {GL_RSCA_QUERY, "GL_RSCA_QUERY"},
    {GL_TRACE_EVENT, "GL_TRACE_EVENT"},
    {GL_CUSTOM_NOTIFICATION, "GL_CUSTOM_NOTIFICATION"},
    {GL_THREAD_CLEANUP, "GL_THREAD_CLEANUP"},
    {GL_APPLICATION_PRELOAD, "GL_APPLICATION_PRELOAD"},
    {GL_SUSPEND_PROCESS, "GL_SUSPEND_PROCESS"},
};

static const char* mask_names(DWORD mask, const MaskName* names, size_t count)
{
    if (mask == 0) {
        return "0";
    }
    static char b[4][700];
    static unsigned which;
    char* out = b[which++ % 4];
    size_t at = 0;
    DWORD left = mask;
    for (size_t i = 0; i < count; i++) {
        if (mask & names[i].bit) {
            at += (size_t)snprintf(out + at, sizeof b[0] - at, "%s%s", at ? "|" : "", names[i].name);
            left &= ~names[i].bit;
        }
    }
    if (left) {
        snprintf(out + at, sizeof b[0] - at, "%s0x%lX", at ? "|" : "", (unsigned long)left);
    }
    return out;
}

const char* request_mask_names(DWORD mask)
{
    return mask_names(mask, s_request_bits, sizeof s_request_bits / sizeof s_request_bits[0]);
}

const char* global_mask_names(DWORD mask)
{
    return mask_names(mask, s_global_bits, sizeof s_global_bits / sizeof s_global_bits[0]);
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping.

void report_after_dispose(const Owner* owner, const char* what)
{
    g.st.after_dispose++;
    if (!g.first_violation) {
        g.first_violation = what;
    }
    TX("violation: %s called on request %u after its module was disposed", what, owner->request_number);
}

HRESULT not_implemented(const Owner* owner, const char* what)
{
    track(owner, what);
    g.st.not_implemented++;
    TX("call %s -> E_NOTIMPL (not implemented)", what);
    return E_NOTIMPL;
}

void not_implemented_void(const Owner* owner, const char* what)
{
    track(owner, what);
    g.st.not_implemented++;
    TX("call %s (not implemented)", what);
}

void* not_implemented_null(const Owner* owner, const char* what)
{
    track(owner, what);
    g.st.not_implemented++;
    TX("call %s -> NULL (not implemented)", what);
    return 0;
}

BOOL not_implemented_false(const Owner* owner, const char* what)
{
    track(owner, what);
    g.st.not_implemented++;
    TX("call %s -> FALSE (not implemented)", what);
    return FALSE;
}
