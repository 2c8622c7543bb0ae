//! Reading an `IAppHostElement` into an owned [`Node`] tree: every property (typed value and
//! text), child element and collection entry, with every COM reference and `BSTR` released by
//! the guards below, whatever fails.

use core::ptr::NonNull;

use httpserv_sys::*;
use windows_sys::core::{BSTR, HRESULT};
use windows_sys::Win32::System::Variant::{VARIANT, VT_BOOL, VT_BSTR, VT_EMPTY, VT_I1, VT_I2, VT_I4, VT_I8, VT_INT, VT_UI1, VT_UI2, VT_UI4, VT_UI8, VT_UINT};

use super::{Node, Value};

/// A COM interface pointer owned by Rust: `Release`d when dropped.
pub(crate) struct Com<T>(NonNull<T>);

impl<T> Com<T> {
    /// Takes ownership of one reference.
    ///
    /// # Safety
    /// `raw` is null or a COM interface pointer (its vtable starts with `IUnknown`'s) holding a
    /// reference the caller gives away.
    pub(crate) unsafe fn from_raw(raw: *mut T) -> Option<Self> {
        NonNull::new(raw).map(Com)
    }

    pub(crate) fn as_raw(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for Com<T> {
    fn drop(&mut self) {
        let unknown = self.0.as_ptr().cast::<IUnknown>();
        // SAFETY: a COM object's vtable starts with IUnknown's three methods (`from_raw`'s
        // contract); this gives back the reference taken there, once.
        unsafe { ((*(*unknown).lpVtbl).Release)(unknown) };
    }
}

/// A `BSTR` owned by Rust: freed when dropped.
pub(crate) struct Bstr(BSTR);

impl Bstr {
    pub(crate) fn new(text: &str) -> Result<Bstr, HRESULT> {
        let wide: Vec<u16> = text.encode_utf16().collect();
        let bstr = httpserv_sys::bstr::alloc(&wide);
        if bstr.is_null() {
            Err(0x8007_000E_u32 as i32) // E_OUTOFMEMORY
        } else {
            Ok(Bstr(bstr))
        }
    }

    pub(crate) fn as_raw(&self) -> BSTR {
        self.0
    }

    fn text(&self) -> String {
        // SAFETY: a live BSTR (or null, read as empty).
        String::from_utf16_lossy(unsafe { httpserv_sys::bstr::as_wide(self.0) })
    }
}

impl Drop for Bstr {
    fn drop(&mut self) {
        // SAFETY: the BSTR is owned here (from `Bstr::new` or an out parameter), freed once.
        unsafe { httpserv_sys::bstr::free(self.0) }
    }
}

/// A `VARIANT` owned by Rust, cleared when dropped.
struct Variant(VARIANT);

impl Variant {
    fn empty() -> Variant {
        // SAFETY: all-zero is VT_EMPTY.
        Variant(unsafe { core::mem::zeroed() })
    }

    fn index(index: u32) -> Variant {
        let mut v = Variant::empty();
        // Writing union fields is safe; `vt` names the field set.
        v.0.Anonymous.Anonymous.vt = VT_UI4;
        v.0.Anonymous.Anonymous.Anonymous.lVal = index as i32;
        v
    }

    fn value(&self) -> Result<Option<Value>, String> {
        // SAFETY: `vt` says which field of the union is set (COM's contract for a VARIANT).
        unsafe {
            let inner = &self.0.Anonymous.Anonymous;
            let data = &inner.Anonymous;
            Ok(Some(match inner.vt {
                VT_EMPTY => return Ok(None),
                VT_BOOL => Value::Bool(data.boolVal != 0),
                VT_I1 => Value::Int(data.bVal as i8 as i64),
                VT_UI1 => Value::Uint(data.bVal as u64),
                VT_I2 => Value::Int(data.iVal as i64),
                VT_UI2 => Value::Uint(data.iVal as u16 as u64),
                VT_I4 | VT_INT => Value::Int(data.lVal as i64),
                VT_UI4 | VT_UINT => Value::Uint(data.lVal as u32 as u64),
                VT_I8 => Value::Int(data.llVal),
                VT_UI8 => Value::Uint(data.llVal as u64),
                VT_BSTR => Value::Str(String::from_utf16_lossy(httpserv_sys::bstr::as_wide(data.bstrVal))),
                other => return Err(format!("a VARIANT of type {other}, which configuration values do not have")),
            }))
        }
    }
}

impl Drop for Variant {
    fn drop(&mut self) {
        // SAFETY: the VARIANT is owned here; only a BSTR needs freeing among the types above
        // (VariantClear does the same and more on Windows).
        unsafe {
            #[cfg(windows)]
            {
                windows_sys::Win32::System::Variant::VariantClear(&mut self.0);
            }
            #[cfg(not(windows))]
            {
                let inner = &mut self.0.Anonymous.Anonymous;
                if inner.vt == VT_BSTR {
                    httpserv_sys::bstr::free(inner.Anonymous.bstrVal);
                }
                inner.vt = VT_EMPTY;
            }
        }
    }
}

/// Calls a COM getter that fills an interface pointer, owning the result.
fn out_object<T>(call: impl FnOnce(*mut *mut T) -> HRESULT) -> Result<Option<Com<T>>, HRESULT> {
    let mut raw: *mut T = core::ptr::null_mut();
    let hr = call(&mut raw);
    // SAFETY: a getter hands out one reference (COM's out-parameter rule), null on failure.
    let object = unsafe { Com::from_raw(raw) };
    if hr < 0 {
        return Err(hr);
    }
    Ok(object)
}

fn out_bstr(call: impl FnOnce(*mut BSTR) -> HRESULT) -> Result<String, HRESULT> {
    let mut raw: BSTR = core::ptr::null();
    let hr = call(&mut raw);
    let owned = Bstr(raw);
    if hr < 0 {
        return Err(hr);
    }
    Ok(owned.text())
}

fn out_count(call: impl FnOnce(*mut u32) -> HRESULT) -> Result<u32, HRESULT> {
    let mut count = 0u32;
    let hr = call(&mut count);
    if hr < 0 {
        return Err(hr);
    }
    Ok(count)
}

/// A failure while reading, with where it happened.
pub(crate) struct ReadError {
    pub(crate) hresult: HRESULT,
    pub(crate) what: String,
}

fn at(what: impl Into<String>) -> impl FnOnce(HRESULT) -> ReadError {
    let what = what.into();
    move |hresult| ReadError { hresult, what }
}

/// Reads the element and everything under it.
///
/// # Safety
/// `element` is a live `IAppHostElement` the caller holds a reference to.
pub(crate) unsafe fn read_element(element: &Com<IAppHostElement>, path: &str) -> Result<Node, ReadError> {
    let raw = element.as_raw();
    // SAFETY (every call below): `raw` and the objects obtained from it are live COM objects we
    // hold references to; out parameters point to locals.
    let vtbl = unsafe { &*(*raw).lpVtbl };
    let name = out_bstr(|out| unsafe { (vtbl.get_Name)(raw, out) }).map_err(at(format!("{path}: get_Name")))?;
    let mut node = Node { name, ..Node::default() };

    let properties = out_object(|out| unsafe { (vtbl.get_Properties)(raw, out) }).map_err(at(format!("{path}: get_Properties")))?;
    if let Some(properties) = properties {
        let (p, pv) = (properties.as_raw(), unsafe { &*(*properties.as_raw()).lpVtbl });
        let count = out_count(|out| unsafe { (pv.get_Count)(p, out) }).map_err(at(format!("{path}: properties get_Count")))?;
        for index in 0..count {
            let item = Variant::index(index);
            let Some(property) = out_object(|out| unsafe { (pv.get_Item)(p, core::ptr::read(&item.0), out) }).map_err(at(format!("{path}: property #{index}")))? else {
                continue;
            };
            let (q, qv) = (property.as_raw(), unsafe { &*(*property.as_raw()).lpVtbl });
            let pname = out_bstr(|out| unsafe { (qv.get_Name)(q, out) }).map_err(at(format!("{path}: property #{index} get_Name")))?;
            let mut value = Variant::empty();
            let hr = unsafe { (qv.get_Value)(q, &mut value.0) };
            if hr < 0 {
                return Err(ReadError { hresult: hr, what: format!("{path}: attribute {pname:?}: get_Value") });
            }
            let typed = value.value().map_err(|why| ReadError { hresult: 0x8007_000D_u32 as i32, what: format!("{path}: attribute {pname:?}: {why}") })?;
            let text = out_bstr(|out| unsafe { (qv.get_StringValue)(q, out) }).ok();
            if let Some(typed) = typed {
                node.attrs.push((pname, typed, text));
            }
        }
    }

    let children = out_object(|out| unsafe { (vtbl.get_ChildElements)(raw, out) }).map_err(at(format!("{path}: get_ChildElements")))?;
    if let Some(children) = children {
        let (c, cv) = (children.as_raw(), unsafe { &*(*children.as_raw()).lpVtbl });
        let count = out_count(|out| unsafe { (cv.get_Count)(c, out) }).map_err(at(format!("{path}: child elements get_Count")))?;
        for index in 0..count {
            let item = Variant::index(index);
            if let Some(child) = out_object(|out| unsafe { (cv.get_Item)(c, core::ptr::read(&item.0), out) }).map_err(at(format!("{path}: child element #{index}")))? {
                // SAFETY: a live element we hold a reference to.
                node.children.push(unsafe { read_element(&child, &format!("{path}/child #{index}")) }?);
            }
        }
    }

    // An element without a collection in its schema fails get_Collection: it has no entries.
    if let Ok(Some(collection)) = out_object(|out| unsafe { (vtbl.get_Collection)(raw, out) }) {
        let (c, cv) = (collection.as_raw(), unsafe { &*(*collection.as_raw()).lpVtbl });
        let count = out_count(|out| unsafe { (cv.get_Count)(c, out) }).map_err(at(format!("{path}: collection get_Count")))?;
        for index in 0..count {
            let item = Variant::index(index);
            if let Some(entry) = out_object(|out| unsafe { (cv.get_Item)(c, core::ptr::read(&item.0), out) }).map_err(at(format!("{path}: collection entry #{index}")))? {
                // SAFETY: a live element we hold a reference to.
                node.items.push(unsafe { read_element(&entry, &format!("{path}[{index}]")) }?);
            }
        }
    }
    Ok(node)
}

/// `IAppHostAdminManager::GetAdminSection(section, path)`, read into a tree.
///
/// # Safety
/// `admin` is the live admin manager of the server.
pub(crate) unsafe fn read_section(admin: *mut IAppHostAdminManager, section: &str, path: &str) -> Result<Node, ReadError> {
    let name = Bstr::new(section).map_err(at("allocating a BSTR"))?;
    let config_path = Bstr::new(path).map_err(at("allocating a BSTR"))?;
    // SAFETY: `admin` is live (the caller's contract); the BSTRs outlive the call.
    let element = out_object(|out| unsafe { ((*(*admin).lpVtbl).GetAdminSection)(admin, name.as_raw(), config_path.as_raw(), out) })
        .map_err(at("GetAdminSection"))?
        .ok_or(ReadError { hresult: 0x8000_4003_u32 as i32, what: "GetAdminSection returned no element".into() })?;
    // SAFETY: a live element we hold a reference to.
    unsafe { read_element(&element, section) }
}
