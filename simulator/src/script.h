// script.h: the request script, the simulator's input. Its format is documented at the top of
// script.cpp and in simulator/README.md.
#ifndef IIS_SIMULATOR_SCRIPT_H
#define IIS_SIMULATOR_SCRIPT_H

#include "sim.h"

struct ScriptHeader {
    char* name;
    char* value;
};

struct ScriptRequest {
    int line;                    // where its REQUEST line is, for messages
    char* method;
    char* url;                   // as sent: path and query, not decoded
    USHORT major;
    USHORT minor;
    Vec<ScriptHeader> headers;
    Bytes body;
    DWORD remote_ip;             // host byte order
    USHORT remote_port;
    DWORD local_ip;
    USHORT local_port;
    char* auth_user;             // NULL: anonymous, IHttpContext::GetUser returns NULL
    char* auth_type;
    char* auth_password;
};

enum ScriptEventKind {
    SCRIPT_REQUEST,
    SCRIPT_GLOBAL,
};

struct ScriptEvent {
    ScriptEventKind kind;
    ScriptRequest* request;      // SCRIPT_REQUEST
    DWORD global_bit;            // SCRIPT_GLOBAL: a GL_* bit
    char* argument;              // SCRIPT_GLOBAL: a path, or NULL
    int line;
};

struct Script {
    Vec<ScriptEvent> events;
    unsigned request_count;
};

// Reads and parses a script. On failure prints "error: <file>:<line>: ..." and returns false.
bool load_script(const wchar_t* path, Script* out);

#endif
