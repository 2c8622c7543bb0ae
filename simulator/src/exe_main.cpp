// exe_main.cpp: the stand-alone sim.exe's entry point. It only turns the UTF-16 command line
// into argv and calls iis_simulator_main (main.cpp), which a Rust harness may call instead.
#include <windows.h>
#include <shellapi.h>

extern "C" int iis_simulator_main(int argc, wchar_t** argv);

int main()
{
    // The command line is read as UTF-16 (not the ANSI argv) so that paths survive any code page.
    int argc = 0;
    wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    if (!argv) {
        return 1;
    }
    int rc = iis_simulator_main(argc, argv);
    LocalFree(argv);
    return rc;
}
