//! `Response`: status, headers and body (`IHttpResponse`).

use httpserv_sys::*;
use windows_sys::Win32::Networking::HttpServer::{HTTP_DATA_CHUNK, HTTP_DATA_CHUNK_0, HTTP_DATA_CHUNK_0_0, HttpDataChunkFromMemory};

use crate::error::{check, check_field_value, check_status, invalid, Result};
use crate::handle::handle;
use crate::strings::with_c_str;

handle! {
    /// `IHttpResponse`.
    ResponseRaw => IHttpResponse, IHttpResponse_Vtbl
}

/// The response (`IHttpResponse`), borrowed for the duration of a notification. Its getters
/// copy what IIS may later release into request memory (see the `strings` module docs).
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    raw: ResponseRaw<'a>,
    /// The context the response belongs to, for `AllocateRequestMemory`.
    context: core::ptr::NonNull<IHttpContext>,
}

/// A status to set with [`Response::set_status_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status<'s> {
    /// 100..=999.
    pub code: u16,
    /// The reason phrase: field-value bytes (no control character but HTAB, no DEL).
    pub reason: &'s str,
    /// IIS's substatus (the `.3` of 404.3).
    pub substatus: u16,
    /// Asks IIS not to replace the body with a custom error page.
    pub try_skip_custom_errors: bool,
}

impl<'s> Status<'s> {
    /// A status with this code and reason phrase, substatus 0, custom errors allowed.
    pub const fn new(code: u16, reason: &'s str) -> Self {
        Self { code, reason, substatus: 0, try_skip_custom_errors: false }
    }

    /// With IIS's substatus (the `.3` of 404.3).
    pub const fn substatus(self, substatus: u16) -> Self {
        Self { substatus, ..self }
    }

    /// Asks IIS not to replace the body with a custom error page (`fTrySkipCustomErrors`).
    pub const fn skip_custom_errors(self) -> Self {
        Self { try_skip_custom_errors: true, ..self }
    }
}

/// How [`Response::redirect`] redirects. `RedirectOptions::default()` is what IIS does by
/// default (`IHttpResponse::Redirect`'s `fResetStatusCode = TRUE`, `fIncludeParameters =
/// FALSE`, <https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-redirect-method>):
/// a 302 to the URL as given.
///
/// ```
/// # fn f(response: &httpserv::Response<'_>) -> httpserv::Result<()> {
/// use httpserv::RedirectOptions;
/// response.redirect("/login", RedirectOptions::default())?;
/// response.redirect("/search", RedirectOptions::default().include_query())?;
/// response.redirect("/moved", RedirectOptions { keep_status: true, ..Default::default() })?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RedirectOptions {
    /// Keep the status already set instead of setting 302 (`fResetStatusCode = FALSE`).
    pub keep_status: bool,
    /// Append the request's query string to the URL (`fIncludeParameters = TRUE`).
    pub include_query: bool,
}

impl RedirectOptions {
    /// [`Self::keep_status`] set.
    pub const fn keep_status(self) -> Self {
        Self { keep_status: true, ..self }
    }

    /// [`Self::include_query`] set.
    pub const fn include_query(self) -> Self {
        Self { include_query: true, ..self }
    }
}

/// The status as IIS has it now ([`Response::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrentStatus<'a> {
    /// The status code, e.g. 404 (`IHttpResponse::GetStatus`'s `pStatusCode`).
    pub code: u16,
    /// IIS's substatus, e.g. the `.3` of 404.3 (`pSubStatus`).
    pub substatus: u16,
    /// The reason phrase (`ppszReason`, `pcchReason` bytes), copied into request memory: IIS
    /// keeps it in a "server-owned buffer" that `set_status` or `clear` may release.
    pub reason: &'a [u8],
}

impl<'a> Response<'a> {
    /// `None` if `raw` or `context` is null.
    ///
    /// # Safety
    /// `raw` is null or the live response of the live context `context`, both valid for `'a`.
    pub unsafe fn from_raw(raw: *mut IHttpResponse, context: *mut IHttpContext) -> Option<Self> {
        let context = core::ptr::NonNull::new(context)?;
        // SAFETY: forwarded from the caller.
        unsafe { ResponseRaw::from_raw(raw) }.map(|raw| Self { raw, context })
    }

    /// The raw `IHttpResponse`.
    #[inline]
    pub fn as_raw(&self) -> *mut IHttpResponse {
        self.raw.as_raw()
    }

    #[inline]
    pub(crate) fn vtbl_raw(&self) -> &'a IHttpResponse_Vtbl {
        self.vtbl()
    }

    #[inline]
    fn vtbl(&self) -> &'a IHttpResponse_Vtbl {
        self.raw.vtbl()
    }

    /// Sets the status code and reason phrase.
    pub fn set_status(&self, code: u16, reason: &str) -> Result<()> {
        self.set_status_with(Status::new(code, reason))
    }

    /// Sets the status with IIS's substatus and custom-error choice:
    /// `set_status_with(Status::new(404, "Not Found").substatus(3).skip_custom_errors())`.
    pub fn set_status_with(&self, status: Status<'_>) -> Result<()> {
        check_status(status.code)?;
        check_field_value("reason phrase", status.reason.as_bytes())?;
        // SAFETY: live response; the reason is NUL-terminated during the call.
        check(with_c_str("reason phrase", status.reason.as_bytes(), |reason| unsafe {
            (self.vtbl().SetStatus)(self.as_raw(), status.code, reason, status.substatus, 0, core::ptr::null_mut(), status.try_skip_custom_errors.into())
        })?)
    }

    /// The status as IIS has it now.
    pub fn status(&self) -> CurrentStatus<'a> {
        let (mut code, mut substatus, mut reason, mut reason_len) = (0u16, 0u16, core::ptr::null(), 0u16);
        use core::ptr::null_mut as null;
        // SAFETY: live response; every out pointer is ours or null (all optional but the code).
        unsafe { (self.vtbl().GetStatus)(self.as_raw(), &mut code, &mut substatus, &mut reason, &mut reason_len, null(), null(), null(), null(), null()) };
        // SAFETY: IIS returned `reason_len` bytes, readable until the next call into IIS.
        let reason = unsafe { self.copy_bytes(reason, reason_len as usize) }.unwrap_or_default();
        CurrentStatus { code, substatus, reason }
    }

    crate::headers::header_methods!("response", HttpHeaderResponseMaximum);

    /// Removes every response header.
    pub fn clear_headers(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().ClearHeaders)(self.as_raw()) }
    }

    /// Clears the buffered body and headers.
    pub fn clear(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().Clear)(self.as_raw()) }
    }

    /// Appends `body` to the response entity (`WriteEntityChunks`, synchronous; IIS copies
    /// memory chunks, so `body` need not outlive the call). A body over 4 GiB goes as several
    /// chunks of one call (see `io::memory_chunks`).
    pub fn write(&self, body: &[u8]) -> Result<()> {
        self.write_split(body, crate::io::MAX_CHUNK_LEN)
    }

    /// [`write`](Self::write) with chunks of at most `max_len` bytes (a test hook lowers it).
    pub(crate) fn write_split(&self, body: &[u8], max_len: usize) -> Result<()> {
        let mut one;
        let mut many = Vec::new();
        let chunks: &mut [HTTP_DATA_CHUNK] = if body.len() <= max_len {
            // At most MAX_CHUNK_LEN = u32::MAX bytes.
            one = [crate::io::memory_chunk(body.as_ptr(), body.len() as u32)];
            &mut one
        } else {
            crate::io::memory_chunks(body, max_len, &mut many)?;
            &mut many
        };
        let (mut sent, mut pending) = (0u32, 0);
        // SAFETY: live response; memory chunks over `body`, which IIS only reads during the
        // call; the count fits (at most MAX_CHUNKS).
        check(unsafe { (self.vtbl().WriteEntityChunks)(self.as_raw(), chunks.as_mut_ptr(), chunks.len() as u32, 0, 1, &mut sent, &mut pending) })
    }

    /// Sends what is buffered so far (synchronously).
    pub fn flush(&self) -> Result<()> {
        let (mut sent, mut pending) = (0u32, 0);
        // SAFETY: live response; out pointers are ours.
        check(unsafe { (self.vtbl().Flush)(self.as_raw(), 0, 1, &mut sent, &mut pending) })
    }

    /// Redirects the client to `url` (a 302 unless `options.keep_status`; see [`RedirectOptions`]).
    pub fn redirect(&self, url: &str, options: RedirectOptions) -> Result<()> {
        let (reset_status, include_parameters) = (!options.keep_status, options.include_query);
        check_field_value("redirect URL", url.as_bytes())?;
        // SAFETY: live response; URL NUL-terminated during the call.
        check(with_c_str("redirect URL", url.as_bytes(), |u| unsafe {
            (self.vtbl().Redirect)(self.as_raw(), u, reset_status.into(), include_parameters.into())
        })?)
    }

    /// Sends the body as it is written instead of buffering it.
    pub fn disable_buffering(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().DisableBuffering)(self.as_raw()) }
    }

    /// Keeps this response out of the kernel (HTTP.sys) cache.
    pub fn disable_kernel_cache(&self) {
        // SAFETY: live response; 9 is the reason code the SDK uses by default.
        unsafe { (self.vtbl().DisableKernelCache)(self.as_raw(), 9) }
    }

    /// Closes the connection after the response is sent.
    pub fn set_need_disconnect(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().SetNeedDisconnect)(self.as_raw()) }
    }

    /// Resets the connection at once.
    pub fn reset_connection(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().ResetConnection)(self.as_raw()) }
    }

    /// Closes the connection (`CloseConnection`).
    pub fn close_connection(&self) {
        // SAFETY: live response.
        unsafe { (self.vtbl().CloseConnection)(self.as_raw()) }
    }
}

// ---------------------------------------------------------------------------------------------
// Added for issue 12 (the missing methods): appended, so parallel changes above merge cleanly.

use windows_sys::Win32::Networking::HttpServer::{HttpDataChunkFromFileHandle, HttpDataChunkFromFragmentCache, HTTP_DATA_CHUNK_0_2, HTTP_RESPONSE_V2};

/// A piece of the entity body to write with [`Response::write_chunks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunk<'s> {
    /// Bytes (`HttpDataChunkFromMemory`); IIS copies them during a synchronous write.
    Memory(&'s [u8]),
    /// A fragment of the server's cache by name (`HttpDataChunkFromFragmentCache`), added
    /// before with `IHttpServer::AddFragmentToCache`.
    Fragment(&'s str),
}

/// A body chunk as the response holds it ([`RawResponse::chunks`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawChunk<'a> {
    /// `HttpDataChunkFromMemory`: the bytes, borrowed from IIS's buffer.
    Memory(&'a [u8]),
    /// `HttpDataChunkFromFileHandle`: a byte range of an open file (the handle stays IIS's).
    FileHandle {
        /// The file (`FileHandle`).
        handle: windows_sys::Win32::Foundation::HANDLE,
        /// `ByteRange.StartingOffset`.
        offset: u64,
        /// `ByteRange.Length` (`HTTP_BYTE_RANGE_TO_EOF`, `u64::MAX`, for the rest of the file).
        length: u64,
    },
    /// `HttpDataChunkFromFragmentCache`: a cached fragment's name.
    Fragment(String),
    /// Another chunk type (`HttpDataChunkFromFragmentCacheEx`, trailers), by its type number.
    Other(i32),
}

/// A read-only view of the response as the HTTP Server API will send it
/// (`IHttpResponse::GetRawHttpResponse`): status, reason, headers and the buffered body chunks.
/// It borrows the response exclusively (`&mut Response` is not needed: the view is built from
/// a snapshot taken now, copied into request memory, so a later `set_header` or `clear` neither
/// changes nor invalidates it)
/// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-getrawhttpresponse-method>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResponse<'a> {
    /// `StatusCode`.
    pub status: u16,
    /// `pReason` (`ReasonLength` bytes).
    pub reason: &'a [u8],
    /// `Version` as (major, minor).
    pub version: (u16, u16),
    /// The headers as (name, value): known headers (by `HTTP_HEADER_ID`, named as HTTP.sys
    /// names them) first, then the unknown ones.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// `pEntityChunks`: the body buffered so far, in order.
    pub chunks: Vec<RawChunk<'a>>,
}

/// The names of the HTTP Server API's known response headers, indexed by `HTTP_HEADER_ID`
/// (`HttpHeaderAcceptRanges` = 20 ... `HttpHeaderWwwAuthenticate` = 29; 0..=19 are shared with
/// requests).
pub const KNOWN_RESPONSE_HEADERS: [&str; 30] = [
    "Cache-Control", "Connection", "Date", "Keep-Alive", "Pragma", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
    "Warning", "Allow", "Content-Length", "Content-Type", "Content-Encoding", "Content-Language", "Content-Location",
    "Content-MD5", "Content-Range", "Expires", "Last-Modified", "Accept-Ranges", "Age", "ETag", "Location",
    "Proxy-Authenticate", "Retry-After", "Server", "Set-Cookie", "Vary", "WWW-Authenticate",
];

impl<'a> Response<'a> {
    /// Sets the status and the error IIS reports with it (`SetStatus`'s `hrErrorToReport`): the
    /// detailed error page and the failed-request trace show that `HRESULT`
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-setstatus-method>).
    pub fn set_status_with_error(&self, status: Status<'_>, error: crate::HRESULT) -> Result<()> {
        check_status(status.code)?;
        check_field_value("reason phrase", status.reason.as_bytes())?;
        // SAFETY: live response; the reason is NUL-terminated during the call.
        check(with_c_str("reason phrase", status.reason.as_bytes(), |reason| unsafe {
            (self.vtbl().SetStatus)(self.as_raw(), status.code, reason, status.substatus, error.0, core::ptr::null_mut(), status.try_skip_custom_errors.into())
        })?)
    }

    /// Sets the description IIS shows on its detailed error page (`SetErrorDescription`);
    /// `html_encode` asks IIS to HTML-encode it first (pass `true` for text that is not markup)
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-seterrordescription-method>).
    /// An empty description is refused: a length of 0 would make IIS read up to a NUL.
    pub fn set_error_description(&self, description: &str, html_encode: bool) -> Result<()> {
        if description.is_empty() {
            return Err(invalid("error description is empty"));
        }
        let hr = crate::strings::with_wide_str("error description", description, |text, len| {
            // SAFETY: live response; `text` holds `len` units during the call; IIS copies them.
            unsafe { (self.vtbl().SetErrorDescription)(self.as_raw(), text, len, html_encode.into()) }
        })?;
        check(hr)
    }

    /// Appends `body` to the response without copying it (`WriteEntityChunkByReference`): IIS
    /// keeps the pointer until the response is sent, so the bytes must outlive the request,
    /// hence `'static` ("the data chunk is referenced, not copied, so it must remain valid until
    /// the response completes")
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-writeentitychunkbyreference-method>).
    /// `position` inserts it before the chunk of that index; `None` appends.
    pub fn write_static(&self, body: &'static [u8], position: Option<u16>) -> Result<()> {
        let len = u32::try_from(body.len()).map_err(|_| invalid("body chunk larger than 4 GiB"))?;
        let mut chunk = HTTP_DATA_CHUNK {
            DataChunkType: HttpDataChunkFromMemory,
            Anonymous: HTTP_DATA_CHUNK_0 { FromMemory: HTTP_DATA_CHUNK_0_0 { pBuffer: body.as_ptr() as *mut _, BufferLength: len } },
        };
        let position = position.map_or(-1, i32::from);
        // SAFETY: live response; the chunk describes `body`, which lives forever, so IIS may
        // keep the pointer as long as it likes; the chunk structure itself is copied.
        check(unsafe { (self.vtbl().WriteEntityChunkByReference)(self.as_raw(), &mut chunk, position) })
    }

    /// Appends several chunks in one synchronous `WriteEntityChunks` call and returns the bytes
    /// IIS reports sent. `more_data` (`fMoreData`) tells IIS more body follows, so it keeps the
    /// connection's response open after an unbuffered send
    /// (<https://learn.microsoft.com/en-us/iis/web-development-reference/native-code-api-reference/ihttpresponse-writeentitychunks-method>).
    /// At most 65,535 chunks; fragment names with NUL are refused.
    pub fn write_chunks(&self, chunks: &[Chunk<'_>], more_data: bool) -> Result<u32> {
        let count = u16::try_from(chunks.len()).map_err(|_| invalid("more than 65,535 chunks"))?;
        // The fragment names as UTF-16, owned until the call returns.
        let mut names: Vec<Vec<u16>> = Vec::new();
        for chunk in chunks {
            if let Chunk::Fragment(name) = chunk {
                crate::error::check_no_line_breaks("fragment name", name.as_bytes())?;
                if name.is_empty() {
                    return Err(invalid("fragment name is empty"));
                }
                names.push(name.encode_utf16().chain([0]).collect());
            }
        }
        let mut next_name = names.iter();
        let mut raw = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            raw.push(match chunk {
                Chunk::Memory(bytes) => HTTP_DATA_CHUNK {
                    DataChunkType: HttpDataChunkFromMemory,
                    Anonymous: HTTP_DATA_CHUNK_0 {
                        FromMemory: HTTP_DATA_CHUNK_0_0 {
                            pBuffer: bytes.as_ptr() as *mut _,
                            BufferLength: u32::try_from(bytes.len()).map_err(|_| invalid("body chunk larger than 4 GiB"))?,
                        },
                    },
                },
                Chunk::Fragment(_) => {
                    let name = next_name.next().ok_or_else(|| invalid("fragment names out of step"))?;
                    let bytes = u16::try_from((name.len() - 1) * 2).map_err(|_| invalid("fragment name over 32,767 characters"))?;
                    HTTP_DATA_CHUNK {
                        DataChunkType: HttpDataChunkFromFragmentCache,
                        Anonymous: HTTP_DATA_CHUNK_0 { FromFragmentCache: HTTP_DATA_CHUNK_0_2 { FragmentNameLength: bytes, pFragmentName: name.as_ptr() } },
                    }
                }
            });
        }
        let (mut sent, mut pending) = (0u32, 0);
        // SAFETY: live response; `raw` holds `count` chunks whose buffers and names live until
        // the call returns, and a synchronous write does not keep them.
        check(unsafe { (self.vtbl().WriteEntityChunks)(self.as_raw(), raw.as_mut_ptr(), count.into(), 0, more_data.into(), &mut sent, &mut pending) })?;
        Ok(sent)
    }

    /// The response as the HTTP Server API will send it, copied into request memory
    /// ([`RawResponse`]); `None` if IIS returns no structure.
    pub fn raw_response(&self) -> Option<RawResponse<'a>> {
        // SAFETY: live response; the structure (the const overload) is readable now.
        let raw: &HTTP_RESPONSE_V2 = unsafe { (self.vtbl().GetRawHttpResponse_2)(self.as_raw()).as_ref() }?;
        let base = &raw.Base;
        // SAFETY (every copy below): the HTTP Server API gives each string's byte length next to
        // its pointer, readable now; the copies live in request memory for 'a.
        let reason = unsafe { self.copy_bytes(base.pReason, base.ReasonLength as usize) }.unwrap_or_default();
        let mut headers = Vec::new();
        for (id, known) in base.Headers.KnownHeaders.iter().enumerate() {
            if known.pRawValue.is_null() {
                continue;
            }
            // SAFETY: as above.
            if let Some(value) = unsafe { self.copy_bytes(known.pRawValue, known.RawValueLength as usize) } {
                headers.push((KNOWN_RESPONSE_HEADERS[id].as_bytes(), value));
            }
        }
        // SAFETY: `pUnknownHeaders` holds `UnknownHeaderCount` entries, readable now.
        let unknown = unsafe { crate::strings::slice(base.Headers.pUnknownHeaders, base.Headers.UnknownHeaderCount as usize) };
        for header in unknown {
            // SAFETY: as above.
            let (name, value) = unsafe { (self.copy_bytes(header.pName, header.NameLength as usize), self.copy_bytes(header.pRawValue, header.RawValueLength as usize)) };
            if let (Some(name), Some(value)) = (name, value) {
                headers.push((name, value));
            }
        }
        // SAFETY: `pEntityChunks` holds `EntityChunkCount` chunks, readable now.
        let raw_chunks = unsafe { crate::strings::slice(base.pEntityChunks, base.EntityChunkCount as usize) };
        let mut chunks = Vec::with_capacity(raw_chunks.len());
        for chunk in raw_chunks {
            chunks.push(match chunk.DataChunkType {
                t if t == HttpDataChunkFromMemory => {
                    // SAFETY: the type says `FromMemory` is the active field; its buffer holds
                    // `BufferLength` bytes, copied now.
                    let memory = unsafe { chunk.Anonymous.FromMemory };
                    // SAFETY: as above.
                    RawChunk::Memory(unsafe { self.copy_bytes(memory.pBuffer as *const u8, memory.BufferLength as usize) }.unwrap_or_default())
                }
                t if t == HttpDataChunkFromFileHandle => {
                    // SAFETY: the type says `FromFileHandle` is the active field.
                    let file = unsafe { chunk.Anonymous.FromFileHandle };
                    RawChunk::FileHandle { handle: file.FileHandle, offset: file.ByteRange.StartingOffset, length: file.ByteRange.Length }
                }
                t if t == HttpDataChunkFromFragmentCache => {
                    // SAFETY: the type says `FromFragmentCache` is the active field; the name
                    // holds `FragmentNameLength` bytes.
                    let fragment = unsafe { chunk.Anonymous.FromFragmentCache };
                    // SAFETY: as above.
                    let name = unsafe { crate::strings::WideStr::from_raw_parts(fragment.pFragmentName, fragment.FragmentNameLength as usize / 2) };
                    RawChunk::Fragment(name.map(|n| n.to_string_lossy()).unwrap_or_default())
                }
                other => RawChunk::Other(other),
            });
        }
        Some(RawResponse { status: base.StatusCode, reason, version: (base.Version.MajorVersion, base.Version.MinorVersion), headers, chunks })
    }
}
