//! `&str` views of headers, and the `http` crate's types (feature `http`, on by default) where
//! they fit the IIS interfaces: `StatusCode` (with its canonical reason phrase), `Method`,
//! `HeaderName`/`HeaderValue`/`HeaderMap`, `Uri` and `Version`.
//!
//! These are extra `impl` blocks on [`Request`] and [`Response`], built on their byte-level
//! accessors, so every check those make (header tokens, field values, status range) still
//! applies.

#[cfg(feature = "http")]
use crate::error::{invalid, Result};
use crate::{Request, Response};

impl<'a> Request<'a> {
    /// A request header as `&str`, when it is present and valid UTF-8 (`None` otherwise; the
    /// bytes are in [`header`](Self::header)).
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        core::str::from_utf8(self.header(name)?).ok()
    }

    /// The method as [`http::Method`] (`E_INVALIDARG` if IIS's method is not an HTTP token).
    #[cfg(feature = "http")]
    pub fn http_method(&self) -> Result<http::Method> {
        http::Method::from_bytes(self.method()).map_err(|_| invalid(&format!("request method {:?} is not an HTTP token", String::from_utf8_lossy(self.method()))))
    }

    /// The URL as the client sent it ([`raw_url`](Self::raw_url)) as an [`http::Uri`]
    /// (`E_INVALIDARG` if it does not parse).
    #[cfg(feature = "http")]
    pub fn uri(&self) -> Result<http::Uri> {
        let raw = self.raw_url().ok_or_else(|| invalid("the request has no URL"))?;
        http::Uri::try_from(raw).map_err(|e| invalid(&format!("request URL {:?} is not a URI: {e}", String::from_utf8_lossy(raw))))
    }

    /// A request header by [`http::HeaderName`], as an [`http::HeaderValue`].
    #[cfg(feature = "http")]
    pub fn typed_header(&self, name: &http::HeaderName) -> Option<http::HeaderValue> {
        http::HeaderValue::from_bytes(self.header(name.as_str())?).ok()
    }

    /// Every request header ([`headers`](Self::headers)) as an [`http::HeaderMap`]; a line
    /// whose name or value the `http` crate refuses is left out.
    #[cfg(feature = "http")]
    pub fn header_map(&self) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in self.headers() {
            if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name), http::HeaderValue::from_bytes(value)) {
                map.append(name, value);
            }
        }
        map
    }

    /// The protocol version as [`http::Version`] (HTTP/0.9 ... HTTP/3; `None` for another).
    #[cfg(feature = "http")]
    pub fn version(&self) -> Option<http::Version> {
        Some(match self.http_version() {
            (0, 9) => http::Version::HTTP_09,
            (1, 0) => http::Version::HTTP_10,
            (1, 1) => http::Version::HTTP_11,
            (2, _) => http::Version::HTTP_2,
            (3, _) => http::Version::HTTP_3,
            _ => return None,
        })
    }
}

impl<'a> Response<'a> {
    /// A response header as `&str`, when it is present and valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        core::str::from_utf8(self.header(name)?).ok()
    }

    /// Sets the status from an [`http::StatusCode`], with its canonical reason phrase
    /// (`404` → `Not Found`; an empty phrase for a code without one).
    #[cfg(feature = "http")]
    pub fn set_status_code(&self, status: http::StatusCode) -> Result<()> {
        self.set_status_with(crate::Status::from(status))
    }

    /// The status code as IIS has it now, as an [`http::StatusCode`].
    #[cfg(feature = "http")]
    pub fn status_code(&self) -> Option<http::StatusCode> {
        http::StatusCode::from_u16(self.status().code).ok()
    }

    /// Sets a response header from `http` types, replacing any value. A value that is not
    /// visible ASCII (obs-text bytes) is refused with `E_INVALIDARG`: IIS takes it as text.
    #[cfg(feature = "http")]
    pub fn set_typed_header(&self, name: &http::HeaderName, value: &http::HeaderValue) -> Result<()> {
        let text = value.to_str().map_err(|_| invalid(&format!("header value for {name} is not visible ASCII")))?;
        self.set_header(name.as_str(), text)
    }

    /// Adds a response header line from `http` types, keeping existing ones.
    #[cfg(feature = "http")]
    pub fn append_typed_header(&self, name: &http::HeaderName, value: &http::HeaderValue) -> Result<()> {
        let text = value.to_str().map_err(|_| invalid(&format!("header value for {name} is not visible ASCII")))?;
        self.append_header(name.as_str(), text)
    }

    /// A response header by [`http::HeaderName`], as an [`http::HeaderValue`].
    #[cfg(feature = "http")]
    pub fn typed_header(&self, name: &http::HeaderName) -> Option<http::HeaderValue> {
        http::HeaderValue::from_bytes(self.header(name.as_str())?).ok()
    }
}

#[cfg(feature = "http")]
impl From<http::StatusCode> for crate::Status<'static> {
    /// The code with its canonical reason phrase (empty if the code has none).
    fn from(status: http::StatusCode) -> Self {
        crate::Status::new(status.as_u16(), status.canonical_reason().unwrap_or(""))
    }
}
