// script.cpp: parses the request script.
//
// The format is line based; blank lines and lines starting with '#' are ignored. A request is a
// block:
//
//   REQUEST <METHOD> <URL> [HTTP/<major>.<minor>]   starts a request (default HTTP/1.1); the URL
//                                                   is the raw path and query, e.g. /a%20b?x=1
//   HEADER <Name>: <value>                          a request header (repeatable)
//   BODY <text>                                     appends text to the entity body; escapes:
//                                                   \r \n \t \\ \xHH (no newline is implied)
//   BODY-HEX <hex digits>                           appends bytes (spaces between them allowed)
//   REMOTE <ip>:<port>                              client address (default 127.0.0.1:50000)
//   LOCAL <ip>:<port>                               server address (default 127.0.0.1:80)
//   AUTH <user> [<type> [<password>]]               an authenticated user (type default Basic);
//                                                   without AUTH, IHttpContext::GetUser is NULL
//   END                                             ends the request
//
// Between requests, a global event for the global module (if it registered for it):
//
//   GLOBAL HEALTH_CHECK | CACHE_CLEANUP | THREAD_CLEANUP
//   GLOBAL CONFIGURATION_CHANGE <path> | FILE_CHANGE <path>
//
// A Host header is added when the block has none (localhost, with the LOCAL port unless it is
// 80), and a Content-Length header when there is a body and neither Content-Length nor
// Transfer-Encoding was given. GL_APPLICATION_START, GL_PRE_BEGIN_REQUEST, GL_APPLICATION_STOP
// and GL_STOP_LISTENING are not scripted: the simulator sends them at their times.
#include "script.h"
#include "transcript.h"

static const wchar_t* s_path;

static bool fail(int line, const char* msg, const char* detail = 0)
{
    char file[520];
    WideCharToMultiByte(CP_UTF8, 0, s_path, -1, file, sizeof file, NULL, NULL);
    if (detail) {
        out_line("error: %s:%d: %s: %s", file, line, msg, detail);
    } else {
        out_line("error: %s:%d: %s", file, line, msg);
    }
    return false;
}

static char* copy(const char* s, size_t n)
{
    char* d = static_cast<char*>(malloc(n + 1));
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// "a.b.c.d:port", "a.b.c.d" or "port" into host-order address and port.
static bool parse_address(const char* s, DWORD* ip, USHORT* port)
{
    unsigned a, b, c, d, p;
    char tail;
    if (sscanf(s, "%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &p, &tail) == 5) {
        if (a > 255 || b > 255 || c > 255 || d > 255 || p > 65535) {
            return false;
        }
        *ip = (a << 24) | (b << 16) | (c << 8) | d;
        *port = (USHORT)p;
        return true;
    }
    if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) {
        if (a > 255 || b > 255 || c > 255 || d > 255) {
            return false;
        }
        *ip = (a << 24) | (b << 16) | (c << 8) | d;
        return true;
    }
    if (sscanf(s, "%u%c", &p, &tail) == 1 && p <= 65535) {
        *port = (USHORT)p;
        return true;
    }
    return false;
}

static bool has_header(const ScriptRequest* r, const char* name)
{
    for (unsigned i = 0; i < r->headers.n; i++) {
        if (ieq(r->headers.p[i].name, name)) {
            return true;
        }
    }
    return false;
}

static void add_header(ScriptRequest* r, const char* name, const char* value)
{
    ScriptHeader h;
    h.name = copy(name, strlen(name));
    h.value = copy(value, strlen(value));
    r->headers.push(h);
}

// The request is complete: add what a client would have sent anyway.
static void finish_request(ScriptRequest* r)
{
    if (!has_header(r, "Host")) {
        char host[32];
        if (r->local_port == 80) {
            snprintf(host, sizeof host, "localhost");
        } else {
            snprintf(host, sizeof host, "localhost:%u", (unsigned)r->local_port);
        }
        add_header(r, "Host", host);
    }
    if (r->body.n && !has_header(r, "Content-Length") && !has_header(r, "Transfer-Encoding")) {
        char len[24];
        snprintf(len, sizeof len, "%lu", (unsigned long)r->body.n);
        add_header(r, "Content-Length", len);
    }
}

struct GlobalName {
    const char* name;
    DWORD bit;
    bool takes_path;
};

static const GlobalName s_globals[] = {
    {"HEALTH_CHECK", GL_HEALTH_CHECK, false},
    {"CACHE_CLEANUP", GL_CACHE_CLEANUP, false},
    {"THREAD_CLEANUP", GL_THREAD_CLEANUP, false},
    {"CONFIGURATION_CHANGE", GL_CONFIGURATION_CHANGE, true},
    {"FILE_CHANGE", GL_FILE_CHANGE, true},
};

bool load_script(const wchar_t* path, Script* out)
{
    s_path = path;
    FILE* f = _wfopen(path, L"rb");
    if (!f) {
        return fail(0, "cannot open the script");
    }
    Bytes text = Bytes();
    // Static: stack frames above 4 KB would need __chkstk, which mingw does not provide under
    // that name.
    static char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        text.append(chunk, got);
    }
    fclose(f);
    text.append("\n", 1);

    ScriptRequest* cur = 0;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.n) {
        // One line, without its end of line.
        char* line = reinterpret_cast<char*>(text.p) + pos;
        size_t len = 0;
        while (pos + len < text.n && line[len] != '\n') {
            len++;
        }
        pos += len + 1;
        line_no++;
        if (len && line[len - 1] == '\r') {
            len--;
        }
        line[len] = 0;

        const char* s = line;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (!*s || *s == '#') {
            continue;
        }
        // The keyword, then the rest of the line after one run of blanks.
        const char* kw = s;
        while (*s && *s != ' ' && *s != '\t') {
            s++;
        }
        size_t kwlen = (size_t)(s - kw);
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        const char* rest = s;
        // Trailing blanks matter only in BODY lines.
        size_t restlen = strlen(rest);
        size_t trimmed = restlen;
        while (trimmed && (rest[trimmed - 1] == ' ' || rest[trimmed - 1] == '\t')) {
            trimmed--;
        }

#define KW(name) (kwlen == sizeof(name) - 1 && memcmp(kw, name, kwlen) == 0)
        if (KW("REQUEST")) {
            if (cur) {
                return fail(line_no, "REQUEST inside a request block (missing END?)");
            }
            static char method[64], url[4096], version[32];
            int fields = sscanf(rest, "%63s %4095s %31s", method, url, version);
            if (fields < 2) {
                return fail(line_no, "expected REQUEST <METHOD> <URL> [HTTP/x.y]");
            }
            cur = static_cast<ScriptRequest*>(calloc(1, sizeof(ScriptRequest)));
            cur->line = line_no;
            cur->method = copy(method, strlen(method));
            cur->url = copy(url, strlen(url));
            cur->major = 1;
            cur->minor = 1;
            cur->remote_ip = 0x7F000001;
            cur->remote_port = 50000;
            cur->local_ip = 0x7F000001;
            cur->local_port = 80;
            if (fields == 3) {
                unsigned ma = 0, mi = 0;
                int v = sscanf(version, "HTTP/%u.%u", &ma, &mi);
                if (v < 1 || ma > 9 || mi > 9) {
                    return fail(line_no, "bad HTTP version", version);
                }
                cur->major = (USHORT)ma;
                cur->minor = (USHORT)mi;
            }
            if (url[0] != '/' && url[0] != '*') {
                return fail(line_no, "the URL must start with /", url);
            }
            continue;
        }
        if (KW("GLOBAL")) {
            if (cur) {
                return fail(line_no, "GLOBAL inside a request block");
            }
            char name[64];
            if (sscanf(rest, "%63s", name) != 1) {
                return fail(line_no, "expected GLOBAL <EVENT> [path]");
            }
            const char* n = name;
            if (strncmp(n, "GL_", 3) == 0) {
                n += 3;
            }
            const GlobalName* found = 0;
            for (size_t i = 0; i < sizeof s_globals / sizeof s_globals[0]; i++) {
                if (strcmp(n, s_globals[i].name) == 0) {
                    found = &s_globals[i];
                }
            }
            if (!found) {
                return fail(line_no, "unknown global event", name);
            }
            ScriptEvent ev = ScriptEvent();
            ev.kind = SCRIPT_GLOBAL;
            ev.global_bit = found->bit;
            ev.line = line_no;
            const char* arg = rest + strlen(name);
            while (*arg == ' ' || *arg == '\t') {
                arg++;
            }
            if (found->takes_path) {
                if (!*arg) {
                    return fail(line_no, "this global event needs a path", name);
                }
                size_t al = strlen(arg);
                while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t')) {
                    al--;
                }
                ev.argument = copy(arg, al);
            }
            out->events.push(ev);
            continue;
        }
        if (!cur) {
            return fail(line_no, "outside a REQUEST block", kw);
        }
        if (KW("HEADER")) {
            const char* colon = strchr(rest, ':');
            if (!colon || colon == rest) {
                return fail(line_no, "expected HEADER <Name>: <value>");
            }
            size_t nl = (size_t)(colon - rest);
            while (nl && (rest[nl - 1] == ' ' || rest[nl - 1] == '\t')) {
                nl--;
            }
            const char* v = colon + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            size_t vl = trimmed - (size_t)(v - rest);
            if ((size_t)(v - rest) > trimmed) {
                vl = 0;
            }
            ScriptHeader h;
            h.name = copy(rest, nl);
            h.value = copy(v, vl);
            cur->headers.push(h);
        } else if (KW("BODY")) {
            for (size_t i = 0; i < restlen; i++) {
                char c = rest[i];
                if (c == '\\' && i + 1 < restlen) {
                    char e = rest[++i];
                    if (e == 'r') c = '\r';
                    else if (e == 'n') c = '\n';
                    else if (e == 't') c = '\t';
                    else if (e == '\\') c = '\\';
                    else if (e == 'x' && i + 2 < restlen + 1 && hexval(rest[i + 1]) >= 0 && hexval(rest[i + 2]) >= 0) {
                        c = (char)(hexval(rest[i + 1]) * 16 + hexval(rest[i + 2]));
                        i += 2;
                    } else {
                        return fail(line_no, "bad escape in BODY (use \\r \\n \\t \\\\ \\xHH)");
                    }
                }
                cur->body.append(&c, 1);
            }
        } else if (KW("BODY-HEX")) {
            int hi = -1;
            for (size_t i = 0; i < restlen; i++) {
                char c = rest[i];
                if (c == ' ' || c == '\t') {
                    continue;
                }
                int v = hexval(c);
                if (v < 0) {
                    return fail(line_no, "bad hex digit in BODY-HEX");
                }
                if (hi < 0) {
                    hi = v;
                } else {
                    unsigned char b = (unsigned char)(hi * 16 + v);
                    cur->body.append(&b, 1);
                    hi = -1;
                }
            }
            if (hi >= 0) {
                return fail(line_no, "odd number of hex digits in BODY-HEX");
            }
        } else if (KW("REMOTE")) {
            if (!parse_address(rest, &cur->remote_ip, &cur->remote_port)) {
                return fail(line_no, "expected REMOTE <ip>:<port>");
            }
        } else if (KW("LOCAL")) {
            if (!parse_address(rest, &cur->local_ip, &cur->local_port)) {
                return fail(line_no, "expected LOCAL <ip>:<port>");
            }
        } else if (KW("AUTH")) {
            char user[256], type[64], password[256];
            int fields = sscanf(rest, "%255s %63s %255s", user, type, password);
            if (fields < 1) {
                return fail(line_no, "expected AUTH <user> [<type> [<password>]]");
            }
            cur->auth_user = copy(user, strlen(user));
            cur->auth_type = fields >= 2 ? copy(type, strlen(type)) : copy("Basic", 5);
            cur->auth_password = fields >= 3 ? copy(password, strlen(password)) : copy("", 0);
        } else if (KW("END")) {
            finish_request(cur);
            ScriptEvent ev = ScriptEvent();
            ev.kind = SCRIPT_REQUEST;
            ev.request = cur;
            ev.line = cur->line;
            out->events.push(ev);
            out->request_count++;
            cur = 0;
        } else {
            return fail(line_no, "unknown directive", kw);
        }
#undef KW
    }
    text.release();
    if (cur) {
        return fail(cur->line, "REQUEST block without END");
    }
    return true;
}
