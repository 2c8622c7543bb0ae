//! The text form of a `timeSpan` configuration value (`[d.]hh:mm:ss[.fffffff]`, .NET's
//! `TimeSpan` format, which IIS schema files use for defaults and configuration files for
//! values), as 100-nanosecond ticks. Shared by the configuration reader (httpserv) and the
//! simulator's configuration store (httpserv-testing), so that both read the same texts.

/// `[d.]hh:mm:ss[.fffffff]` (surrounding whitespace ignored) → 100 ns ticks; `None` for any
/// other text, minutes or seconds over 59, more than seven fraction digits, or a span too long
/// for a `u64` of ticks.
pub fn parse_time_span(text: &str) -> Option<u64> {
    let text = text.trim();
    let (days, clock) = match text.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => (digits(d)?, rest),
        _ => (0, text),
    };
    let (clock, fraction) = match clock.rsplit_once('.') {
        Some((c, f)) if c.matches(':').count() == 2 => (c, f),
        _ => (clock, ""),
    };
    let mut parts = clock.split(':');
    let (Some(h), Some(m), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else { return None };
    let (h, m, s) = (digits(h)?, digits(m)?, digits(s)?);
    if m >= 60 || s >= 60 || fraction.len() > 7 {
        return None;
    }
    let fraction_ticks = if fraction.is_empty() { 0 } else { digits(fraction)? * 10u64.pow(7 - fraction.len() as u32) };
    let seconds = days.checked_mul(24)?.checked_add(h)?.checked_mul(60)?.checked_add(m)?.checked_mul(60)?.checked_add(s)?;
    seconds.checked_mul(10_000_000)?.checked_add(fraction_ticks)
}

/// A non-empty run of ASCII digits as a number (no sign, no spaces).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_time_span;

    #[test]
    fn reads_the_timespan_forms() {
        assert_eq!(parse_time_span("00:00:30"), Some(30 * 10_000_000));
        assert_eq!(parse_time_span(" 1.02:03:04.5 "), Some(((26 * 60 + 3) * 60 + 4) * 10_000_000 + 5_000_000));
        assert_eq!(parse_time_span("00:00:00.0000001"), Some(1));
    }

    #[test]
    fn refuses_everything_else() {
        for text in ["", "abc", "00:60:00", "00:00:60", "1:2", "00:00:00:00", "00:00:00.12345678", "-00:00:01", "+1:00:00", "1.:00:00", "00:00:0x", "99999999999999999.00:00:00", "18446744073709551616:00:00"] {
            assert_eq!(parse_time_span(text), None, "{text:?}");
        }
    }
}
