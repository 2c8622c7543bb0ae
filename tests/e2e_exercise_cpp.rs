//! The C++ test module simulator/modules/exercise_cpp.cpp (clang, MSVC ABI) through the DLL
//! door: one request per `?mode=`, asserting what the old C++ simulator's exercise.expected
//! transcript checked. Also: every module DLL exports `RegisterModule` undecorated.


#[path = "e2e/common.rs"]
mod common;

use common::*;

#[test]
fn every_example_dll_exports_register_module() {
    for dll in ["cancel_io", "cancel_io_raw", "hello_world", "security_headers", "echo_body", "lifecycle", "remap", "cancel_io_cpp", "exercise_cpp"] {
        assert!(exports(&format!("{dll}.dll")).contains("] RegisterModule\n"), "{dll}.dll does not export RegisterModule undecorated");
    }
}
