#!/usr/bin/env bash
# The main job: the seed's CancelIo module, written with #[http_module], built as a Windows DLL,
# loaded by httpserv-simulator.exe (the Rust IIS simulation core behind generated MSVC-ABI C++
# shims) under Wine, serving one GET. Prints the transcript: RegisterModule ->
# SetRequestNotifications(RQ_SEND_RESPONSE) -> GetHttpModule -> OnSendResponse ->
# IHttpContext::CancelIo -> response -> Dispose -> Terminate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-windows.sh x64 >/dev/null 2>&1 || scripts/build-windows.sh x64
. scripts/env.sh
cd target/e2e
echo "== wine httpserv-simulator.exe cancel_io.dll --get /index.html"
wine httpserv-simulator.exe cancel_io.dll --get /index.html 2>/dev/null | tr -d '\r'
