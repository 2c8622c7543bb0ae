// main.cpp: the simulator's entry point, iis_simulator_main: command line, loading the module
// DLL and calling its RegisterModule, running the script (or the benchmark), shutting the
// module down and printing the summary. It is not `main` so that the same sources can be linked
// into another program (a Rust test harness through the cc crate); exe_main.cpp is the
// stand-alone program's main.
#include <fcntl.h>
#include <io.h>

#include "pipeline.h"
#include "server.h"

static void usage()
{
    out_line("usage: sim.exe [--requests N] [--name NAME] [--server-version 0xMMMMmmmm] <module.dll> <script.txt>");
    out_line("  --requests N        run the script's requests N times with the transcript off and print a benchmark line");
    out_line("  --name NAME         the module name IHttpModuleRegistrationInfo::GetName returns (default: the DLL's file name)");
    out_line("  --server-version V  the dwServerVersion given to RegisterModule (default 0x000A0000, IIS 10.0)");
}

// An unhandled exception in the module (or here) ends the run with a transcript line instead
// of Wine's debugger or Windows Error Reporting.
static LONG WINAPI on_crash(EXCEPTION_POINTERS* info)
{
    g.st.crashes++;
    const EXCEPTION_RECORD* r = info->ExceptionRecord;
    HMODULE where = 0;
    wchar_t file[MAX_PATH] = L"?";
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       static_cast<LPCWSTR>(r->ExceptionAddress), &where);
    if (where) {
        GetModuleFileNameW(where, file, MAX_PATH);
    }
    const wchar_t* base = wcsrchr(file, L'\\');
    base = base ? base + 1 : file;
    unsigned long long offset = where ? (unsigned long long)((const char*)r->ExceptionAddress - (const char*)where) : 0;
    out_line("crash: exception 0x%08lX in %s+0x%llx (request %u)", (unsigned long)r->ExceptionCode, qw(base), offset, g.request_seq);
    out_flush();
    TerminateProcess(GetCurrentProcess(), 4);
    return EXCEPTION_EXECUTE_HANDLER;
}

static const wchar_t* file_stem(const wchar_t* path)
{
    const wchar_t* b = path;
    for (const wchar_t* p = path; *p; p++) {
        if (*p == L'\\' || *p == L'/') {
            b = p + 1;
        }
    }
    size_t n = wcslen(b);
    const wchar_t* dot = wcsrchr(b, L'.');
    if (dot) {
        n = (size_t)(dot - b);
    }
    wchar_t* out = static_cast<wchar_t*>(malloc((n + 1) * sizeof(wchar_t)));
    memcpy(out, b, n * sizeof(wchar_t));
    out[n] = 0;
    return out;
}

static void run_script(const Script& script)
{
    for (unsigned i = 0; i < script.events.n; i++) {
        const ScriptEvent& ev = script.events.p[i];
        if (ev.kind == SCRIPT_REQUEST) {
            run_request(ev.request);
        } else {
            const wchar_t* arg = 0;
            if (ev.argument) {
                DWORD n = 0;
                static Arena args;
                arg = args.widen(ev.argument, strlen(ev.argument), &n);
            }
            TX("global: %s%s%s", global_mask_names(ev.global_bit), ev.argument ? " " : "", ev.argument ? ev.argument : "");
            deliver_global(ev.global_bit, 0, arg);
        }
    }
}

extern "C" int iis_simulator_main(int argc, wchar_t** argv)
{
    memset(&g, 0, sizeof g);
    g.transcript = true;
    // Lines end in \n, not \r\n: the transcript is read by tests on Linux.
    _setmode(_fileno(stdout), _O_BINARY);
    g.server_version = SIM_SERVER_VERSION_IIS10;
    SetUnhandledExceptionFilter(on_crash);

    const wchar_t* dll = 0;
    const wchar_t* script_path = 0;
    const wchar_t* name = 0;
    unsigned long long bench = 0;
    for (int i = 1; i < argc; i++) {
        const wchar_t* a = argv[i];
        if (wcscmp(a, L"--requests") == 0 && i + 1 < argc) {
            bench = wcstoull(argv[++i], 0, 10);
            if (!bench) {
                usage();
                return 1;
            }
        } else if (wcscmp(a, L"--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (wcscmp(a, L"--server-version") == 0 && i + 1 < argc) {
            g.server_version = (DWORD)wcstoul(argv[++i], 0, 0);
        } else if (wcscmp(a, L"--help") == 0 || wcscmp(a, L"-h") == 0) {
            usage();
            return 0;
        } else if (a[0] == L'-' && a[1] == L'-') {
            out_line("error: unknown option %s", qw(a));
            usage();
            return 1;
        } else if (!dll) {
            dll = a;
        } else if (!script_path) {
            script_path = a;
        } else {
            usage();
            return 1;
        }
    }
    if (!dll || !script_path) {
        usage();
        return 1;
    }

    Script script = Script();
    if (!load_script(script_path, &script)) {
        return 1;
    }

    // The module's own directory is searched for its dependencies (a Rust module's
    // bcryptprimitives.dll stand-in under Wine 8), which needs a full path.
    wchar_t full[MAX_PATH * 2];
    DWORD fl = GetFullPathNameW(dll, sizeof full / sizeof full[0], full, 0);
    const wchar_t* load_path = (fl && fl < sizeof full / sizeof full[0]) ? full : dll;
    g.module_path = dll;
    g.module_name = name ? name : file_stem(dll);
    // The transcript of a benchmark run shows only the summary.
    g.transcript = bench == 0;
    TX("simulator: IIS 10.0 simulator, server version 0x%08lX", (unsigned long)g.server_version);
    TX("load %s", qw(dll));
    HMODULE h = LoadLibraryExW(load_path, 0, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (!h) {
        out_line("error: LoadLibrary failed for %s (error %lu)", qw(dll), (unsigned long)GetLastError());
        return 1;
    }
    PFN_REGISTERMODULE reg = reinterpret_cast<PFN_REGISTERMODULE>(reinterpret_cast<void*>(GetProcAddress(h, MODULE_REGISTERMODULE)));
    if (!reg) {
        out_line("error: %s does not export RegisterModule", qw(dll));
        return 1;
    }

    g.server = new Server();
    g.reginfo = new RegistrationInfo();
    g.site = new Site();
    g.app = new Application();
    g.server_trace = new TraceContext(0, 0);

    TX("enter RegisterModule(version=0x%08lX)", (unsigned long)g.server_version);
    g.reginfo->in_register = true;
    HRESULT hr = reg(g.server_version, g.reginfo, g.server);
    g.reginfo->in_register = false;
    TX("call RegisterModule(version=0x%08lX) -> %s", (unsigned long)g.server_version, hr_name(hr));
    TX("registered: request=%s post=%s global=%s", request_mask_names(g.reg.request_mask), request_mask_names(g.reg.post_mask),
       global_mask_names(g.reg.global_mask));

    double elapsed_ms = 0;
    unsigned long long requests_run = 0;
    if (SUCCEEDED(hr)) {
        deliver_global(GL_APPLICATION_START, 0, 0);
        deliver_global(GL_APPLICATION_RESOLVE_MODULES, 0, 0);
        if (bench) {
            LARGE_INTEGER freq, t0, t1;
            QueryPerformanceFrequency(&freq);
            QueryPerformanceCounter(&t0);
            for (unsigned long long pass = 0; pass < bench; pass++) {
                run_script(script);
            }
            QueryPerformanceCounter(&t1);
            elapsed_ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)freq.QuadPart;
            requests_run = bench * script.request_count;
        } else {
            run_script(script);
        }
        deliver_global(GL_STOP_LISTENING, 0, 0);
        deliver_global(GL_APPLICATION_STOP, 0, 0);
        g.app->container.cleanup();
    } else {
        out_line("error: RegisterModule failed: %s", hr_name(hr));
    }

    // Shutdown: what RegisterModule registered is terminated, whether it succeeded or not.
    if (g.reg.factory) {
        g.reg.factory->Terminate();
        g.st.factories_terminated++;
        TX("call IHttpModuleFactory::Terminate");
    }
    if (g.reg.global) {
        g.reg.global->Terminate();
        g.st.globals_terminated++;
        TX("call CGlobalModule::Terminate");
    }
    g.site->container.cleanup();
    release_retired_requests();

    g.transcript = true;
    const Stats& s = g.st;
    out_line("summary: modules created=%llu disposed=%llu factories terminated=%llu global-modules terminated=%llu requests=%llu "
             "notifications=%llu global-notifications=%llu calls=%llu not-implemented=%llu after-dispose=%llu pending=%llu "
             "request-memory=%llu stored-contexts-cleaned=%llu",
             s.modules_created, s.modules_disposed, s.factories_terminated, s.globals_terminated, s.requests, s.notifications,
             s.global_notifications, s.calls, s.not_implemented, s.after_dispose, s.pending, s.request_memory, s.stored_contexts_cleaned);
    if (bench) {
        double per_second = elapsed_ms > 0 ? (double)requests_run * 1000.0 / elapsed_ms : 0;
        out_line("bench: %llu requests in %.1f ms, %.0f requests/s", requests_run, elapsed_ms, per_second);
    }

    // The verdict: the module's registration, and the lifecycle counts agreeing.
    char problems[1024];
    size_t at = 0;
    problems[0] = 0;
#define PROBLEM(...)                                                              \
    do {                                                                          \
        if (at) {                                                                 \
            at += (size_t)snprintf(problems + at, sizeof problems - at, "; ");    \
        }                                                                         \
        at += (size_t)snprintf(problems + at, sizeof problems - at, __VA_ARGS__); \
    } while (0)
    if (s.modules_created != s.modules_disposed) {
        PROBLEM("modules created (%llu) != disposed (%llu)", s.modules_created, s.modules_disposed);
    }
    if (s.factories_registered != s.factories_terminated) {
        PROBLEM("factory registered but not terminated");
    }
    if (s.globals_registered != s.globals_terminated) {
        PROBLEM("global module registered but not terminated");
    }
    if (s.get_module_failures) {
        PROBLEM("GetHttpModule failed %llu times", s.get_module_failures);
    }
    if (s.after_dispose) {
        PROBLEM("%llu calls after Dispose (first: %s)", s.after_dispose, g.first_violation);
    }
    if (s.user_references) {
        PROBLEM("IHttpUser references not balanced (%lld)", (long long)s.user_references);
    }
#undef PROBLEM
    if (FAILED(hr)) {
        out_line("result: FAILED: RegisterModule returned %s%s%s", hr_name(hr), at ? "; " : "", problems);
        out_flush();
        return 2;
    }
    if (at) {
        out_line("result: FAILED: %s", problems);
        out_flush();
        return 3;
    }
    out_line("result: ok");
    out_flush();
    return 0;
}
