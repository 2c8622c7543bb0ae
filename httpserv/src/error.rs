//! Errors: IIS's `HRESULT`s as `windows_result::Error`, and the checks that refuse bad input
//! before it reaches IIS.

pub use windows_result::{Error, Result, HRESULT};

/// `E_INVALIDARG`: what every refused input returns, with a message saying why.
pub const E_INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);

/// Turns an IIS `HRESULT` into a `Result`.
#[inline]
pub(crate) fn check(hr: windows_sys::core::HRESULT) -> Result<()> {
    HRESULT(hr).ok()
}

pub(crate) fn invalid(message: &str) -> Error {
    LAST_REFUSAL.with(|last| last.replace(message.to_owned()));
    Error::new(E_INVALIDARG, message)
}

std::thread_local! {
    static LAST_REFUSAL: core::cell::RefCell<String> = const { core::cell::RefCell::new(String::new()) };
}

/// The message of the last input refused on this thread. `windows_result::Error` keeps its
/// message only on Windows (in the thread's `IErrorInfo`), so tests on other targets read the
/// message here to check that a refusal names what was wrong.
pub fn last_refusal() -> String {
    LAST_REFUSAL.with(|last| last.borrow().clone())
}

/// Takes the message of the last input refused on this thread (empty if none since the last
/// take), so that one refusal explains at most one error.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) fn take_last_refusal() -> String {
    LAST_REFUSAL.with(|last| last.take())
}

/// A header name (or method): a non-empty HTTP token (RFC 9110 `tchar`s: letters, digits and
/// ``!#$%&'*+-.^_`|~``), so no CR, LF, NUL, space, `:` or other separator.
pub(crate) fn check_header_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid("header name is empty"));
    }
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if let Some(c) = name.bytes().find(|&b| !tchar(b)) {
        return Err(invalid(&format!("header name {name:?} contains the byte {c:#04x}, which is not allowed in an HTTP token")));
    }
    Ok(())
}

/// A header value: an RFC 9110 `field-value` (visible ASCII, SP, HTAB and obs-text bytes
/// 0x80-0xFF), so no CR, LF, NUL, other control character or DEL, and at most `u16::MAX`
/// bytes, the length IIS takes; longer values are refused, never truncated.
pub(crate) fn check_header_value(value: &[u8]) -> Result<u16> {
    check_field_value("header value", value)?;
    u16::try_from(value.len()).map_err(|_| invalid(&format!("header value is {} bytes; IIS takes at most {}", value.len(), u16::MAX)))
}

/// Text that ends up in the status line or a header (a reason phrase, a redirect URL): the
/// bytes of an RFC 9110 `field-value` (`field-vchar`, `obs-text`, SP, HTAB). CR, LF and NUL get
/// their own message (response splitting); any other control character or DEL is refused too.
pub(crate) fn check_field_value(what: &str, text: &[u8]) -> Result<()> {
    check_no_line_breaks(what, text)?;
    match text.iter().position(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        Some(at) => Err(invalid(&format!("{what} contains the control character {:#04x} at byte {at} (only HTAB is allowed)", text[at]))),
        None => Ok(()),
    }
}

/// Text that must stay on one line (URLs, server variables): no CR, LF or NUL.
pub(crate) fn check_no_line_breaks(what: &str, text: &[u8]) -> Result<()> {
    match text.iter().position(|b| matches!(b, b'\r' | b'\n' | 0)) {
        Some(at) => Err(invalid(&format!("{what} contains CR, LF or NUL at byte {at}"))),
        None => Ok(()),
    }
}

/// An HTTP status code IIS accepts: 100..=999.
pub(crate) fn check_status(code: u16) -> Result<()> {
    if (100..=999).contains(&code) {
        Ok(())
    } else {
        Err(invalid(&format!("status code {code} is outside 100..=999")))
    }
}
