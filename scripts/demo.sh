#!/usr/bin/env bash
# The main job: the seed's CancelIo module, written with #[http_module], built as a Windows DLL,
# loaded by the MSVC-ABI IIS simulator under Wine, serving one GET. Prints the transcript:
# RegisterModule -> SetRequestNotifications(RQ_SEND_RESPONSE) -> GetHttpModule ->
# OnSendResponse -> IHttpContext::CancelIo -> response -> Dispose -> Terminate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-windows.sh >/dev/null
. scripts/env.sh
cd target/e2e
echo "== request script (tests/e2e/cancel_io.txt)"
grep -v '^#' ../../tests/e2e/cancel_io.txt
echo "== transcript of iis-simulator.exe cancel_io.dll"
wine iis-simulator.exe cancel_io.dll ../../tests/e2e/cancel_io.txt 2>/dev/null | tr -d '\r'
