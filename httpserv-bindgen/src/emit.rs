//! Writes the Rust text of the classes: object structs, `_Vtbl` structs in MSVC slot order,
//! uuids, opaque types and function-pointer typedefs.

use std::fmt::Write;

use crate::layout::own_slots;
use crate::model::{CType, Class, Header, Param};
use crate::types::{is_external, rust_type, FOREIGN_INTERFACES};

pub fn classes(header: &Header, own_names: &[String]) -> Result<String, String> {
    let own = |name: &str| own_names.iter().any(|n| n == name);
    let mut out = String::new();

    let mut opaque: Vec<&str> = header.opaque.iter().map(String::as_str).filter(|n| !is_external(n)).collect();
    for name in FOREIGN_INTERFACES {
        if !opaque.contains(name) {
            opaque.push(name);
        }
    }
    for name in opaque {
        writeln!(out, "/// Declared but not defined by httpserv.h; only passed by pointer.").unwrap();
        writeln!(out, "#[repr(C)]\npub struct {name} {{\n    _private: [u8; 0],\n}}\n").unwrap();
    }

    for typedef in &header.fn_typedefs {
        let params = rust_params(&typedef.params, &own)?;
        let ret = rust_ret(&typedef.ret, &own)?;
        writeln!(out, "/// `{}`", c_signature(&typedef.name, &typedef.ret, &typedef.params, false)).unwrap();
        writeln!(out, "pub type {} = Option<unsafe extern \"system\" fn({params}){ret}>;\n", typedef.name).unwrap();
    }

    for class in &header.classes {
        class_items(&mut out, header, class, &own)?;
    }
    for (alias, target) in &header.aliases {
        writeln!(out, "pub type {alias} = {target};").unwrap();
        writeln!(out, "pub type {alias}_Vtbl = {target}_Vtbl;\n").unwrap();
    }
    Ok(out)
}

fn class_items(out: &mut String, header: &Header, class: &Class, own: &dyn Fn(&str) -> bool) -> Result<(), String> {
    let name = &class.name;
    let first_slot = base_slot_count(header, class)?;
    let base_doc = class.base.as_ref().map(|b| format!(" : public {b}")).unwrap_or_default();
    writeln!(out, "/// `class {name}{base_doc}`: an object whose first field points to its vtable.").unwrap();
    writeln!(out, "#[repr(C)]\npub struct {name} {{\n    pub lpVtbl: *const {name}_Vtbl,\n}}\n").unwrap();
    if let Some(uuid) = &class.uuid {
        let hex = uuid.replace('-', "_");
        writeln!(out, "impl {name} {{\n    /// `__declspec(uuid(\"{uuid}\"))`\n    pub const IID: GUID = GUID::from_u128(0x{hex});\n}}\n").unwrap();
    }
    writeln!(out, "/// The vtable of [`{name}`], in MSVC slot order.").unwrap();
    writeln!(out, "#[repr(C)]\npub struct {name}_Vtbl {{").unwrap();
    if let Some(base) = &class.base {
        writeln!(out, "    /// Slots 0..{first_slot}: the vtable of [`{base}`].").unwrap();
        writeln!(out, "    pub base__: {base}_Vtbl,").unwrap();
    }
    for (index, slot) in own_slots(class).iter().enumerate() {
        let method = slot.method;
        let this = format!("this: *mut {name}");
        let (params, ret, doc) = if method.is_destructor {
            (
                format!("{this}, flags: u32"),
                " -> *mut c_void".to_string(),
                format!("virtual {}() (scalar deleting destructor: flags bit 0 = free the memory)", method.name),
            )
        } else {
            let params = rust_params(&method.params, own)?;
            let params = if params.is_empty() { this } else { format!("{this}, {params}") };
            (params, rust_ret(&method.ret, own)?, c_signature(&method.name, &method.ret, &method.params, method.is_const))
        };
        writeln!(out, "    /// slot {}: `{doc}`", first_slot + index).unwrap();
        let kind = if class.is_com { "commethod" } else { "vmethod" };
        writeln!(out, "    pub {}: {kind}!(({params}){ret}),", slot.field).unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    Ok(())
}

/// The number of slots a class inherits.
fn base_slot_count(header: &Header, class: &Class) -> Result<usize, String> {
    let mut count = 0;
    let mut base = class.base.clone();
    while let Some(name) = base {
        let parent = header.classes.iter().find(|c| c.name == name).ok_or_else(|| format!("{}: base {name} is not defined", class.name))?;
        count += own_slots(parent).len();
        base = parent.base.clone();
    }
    Ok(count)
}

fn rust_params(params: &[Param], own: &dyn Fn(&str) -> bool) -> Result<String, String> {
    let mut out = Vec::new();
    for param in params {
        out.push(format!("{}: {}", rust_ident(&param.name), rust_type(&param.ty, own)?));
    }
    Ok(out.join(", "))
}

fn rust_ret(ret: &CType, own: &dyn Fn(&str) -> bool) -> Result<String, String> {
    match ret {
        CType::Void => Ok(String::new()),
        CType::Named(n) if n == "VOID" => Ok(String::new()),
        other => Ok(format!(" -> {}", rust_type(other, own)?)),
    }
}

fn rust_ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &["type", "ref", "self", "fn", "match", "mod", "move", "impl", "use", "where", "loop", "box", "in", "as"];
    if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// The C++ declaration, for the doc comment of a slot.
fn c_signature(name: &str, ret: &CType, params: &[Param], is_const: bool) -> String {
    let params: Vec<String> = params.iter().map(|p| format!("{} {}", c_type(&p.ty), p.name)).collect();
    format!("{} {name}({}){}", c_type(ret), params.join(", "), if is_const { " const" } else { "" })
}

fn c_type(ty: &CType) -> String {
    match ty {
        CType::Void => "void".into(),
        CType::Bool => "bool".into(),
        CType::Named(n) => n.clone(),
        CType::Pointer { pointee, is_const } => format!("{}{}*", if *is_const { "const " } else { "" }, c_type(pointee)),
    }
}
