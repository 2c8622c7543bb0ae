//! The header as the vtable emitter sees it: classes with their virtual methods in declaration
//! order, read from libclang's AST.

use clang::{Entity, EntityKind, Type, TypeKind};

/// A C++ class of httpserv.h with virtual methods.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    /// The single public base, if any (httpserv.h uses single inheritance only).
    pub base: Option<String>,
    /// `__declspec(uuid(...))`, lowercase, if declared.
    pub uuid: Option<String>,
    /// Virtual methods introduced by this class (not overrides), in declaration order.
    pub methods: Vec<Method>,
    /// A COM interface (`IUnknown` or derived from it): its methods are `STDMETHODCALLTYPE`,
    /// `__stdcall` on x86, rather than `thiscall`.
    pub is_com: bool,
}

#[derive(Debug, Clone)]
pub struct Method {
    pub name: String,
    pub is_const: bool,
    /// The virtual destructor: MSVC gives it one slot, the scalar deleting destructor.
    pub is_destructor: bool,
    pub ret: CType,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: CType,
    /// Declared as a C++ reference (`const GUID&`); `ty` then holds the pointer it is passed as.
    pub by_reference: bool,
}

/// A C type, kept as spelled in the header (typedef names preserved) so the Rust side can use
/// the same names, from windows-sys where they are Win32 types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CType {
    Void,
    Bool,
    /// A typedef, enum or class name as written (`PCSTR`, `HTTP_HEADER_ID`, `IHttpContext`).
    Named(String),
    Pointer { pointee: Box<CType>, is_const: bool },
}

/// A `typedef` of a function pointer declared by the header (`PFN_ASYNC_COMPLETION`).
#[derive(Debug, Clone)]
pub struct FnTypedef {
    pub name: String,
    pub ret: CType,
    pub params: Vec<Param>,
}

/// Everything the emitter needs from the header.
#[derive(Debug, Default)]
pub struct Header {
    pub classes: Vec<Class>,
    /// Classes only declared, never defined (`IWpfSettings`): opaque on the Rust side.
    pub opaque: Vec<String>,
    /// `typedef Class Alias;` (`IHttpApplicationStartProvider`).
    pub aliases: Vec<(String, String)>,
    pub fn_typedefs: Vec<FnTypedef>,
}

pub fn read(root: &Entity, header_path: &std::path::Path) -> Result<Header, String> {
    let mut header = Header::default();
    let mut declared = Vec::new();
    // IUnknown, the base of the ahadmin interfaces, comes from windows.h (unknwn.h, inside
    // `extern "C" { extern "C++" { ... } }`); it is the first class of the bindings.
    if let Some(entity) = find_definition(root, "IUnknown") {
        if let Some(mut class) = read_class(&entity, "IUnknown")? {
            class.uuid = Some("00000000-0000-0000-c000-000000000046".into());
            header.classes.push(class);
        }
    }
    for entity in root.get_children() {
        if !is_in_header(&entity, header_path) {
            continue;
        }
        match entity.get_kind() {
            EntityKind::ClassDecl | EntityKind::StructDecl => {
                let Some(name) = entity.get_name() else { continue };
                if entity.is_definition() {
                    if let Some(class) = read_class(&entity, &name)? {
                        header.classes.push(class);
                    }
                } else if !declared.contains(&name) {
                    declared.push(name);
                }
            }
            EntityKind::TypedefDecl => read_typedef(&entity, &mut header)?,
            _ => {}
        }
    }
    // COM-ness follows the base chain to IUnknown.
    let names: Vec<(String, Option<String>)> = header.classes.iter().map(|c| (c.name.clone(), c.base.clone())).collect();
    for class in &mut header.classes {
        let mut current = Some(class.name.clone());
        while let Some(name) = current {
            if name == "IUnknown" {
                class.is_com = true;
                break;
            }
            current = names.iter().find(|(n, _)| *n == name).and_then(|(_, b)| b.clone());
        }
    }
    let defined: Vec<&str> = header.classes.iter().map(|c| c.name.as_str()).collect();
    header.opaque = declared.into_iter().filter(|n| !defined.contains(&n.as_str())).collect();
    // The uuid may sit on a forward declaration only in principle; take it from there too.
    for entity in root.get_children() {
        if !is_in_header(&entity, header_path) || entity.get_kind() != EntityKind::ClassDecl {
            continue;
        }
        if let (Some(name), Some(uuid)) = (entity.get_name(), uuid_of(&entity)) {
            if let Some(class) = header.classes.iter_mut().find(|c| c.name == name) {
                class.uuid.get_or_insert(uuid);
            }
        }
    }
    Ok(header)
}

/// The definition of the class or struct `name` anywhere in the translation unit (also inside
/// linkage specifications).
fn find_definition<'tu>(parent: &Entity<'tu>, name: &str) -> Option<Entity<'tu>> {
    for entity in parent.get_children() {
        match entity.get_kind() {
            EntityKind::StructDecl | EntityKind::ClassDecl if entity.is_definition() && entity.get_name().as_deref() == Some(name) => return Some(entity),
            EntityKind::LinkageSpec | EntityKind::UnexposedDecl => {
                if let Some(found) = find_definition(&entity, name) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_in_header(entity: &Entity, header_path: &std::path::Path) -> bool {
    let Some(location) = entity.get_location() else { return false };
    let Some(file) = location.get_file_location().file else { return false };
    let path = file.get_path();
    path == header_path || path.canonicalize().ok() == header_path.canonicalize().ok()
}

fn read_class(entity: &Entity, name: &str) -> Result<Option<Class>, String> {
    let mut base = None;
    let mut methods = Vec::new();
    let mut has_virtual = false;
    for child in entity.get_children() {
        match child.get_kind() {
            EntityKind::BaseSpecifier => {
                if base.is_some() {
                    return Err(format!("{name}: multiple inheritance is not part of the httpserv.h ABI"));
                }
                let ty = child.get_type().ok_or_else(|| format!("{name}: base without a type"))?;
                let decl = ty.get_declaration().ok_or_else(|| format!("{name}: base without a declaration"))?;
                base = decl.get_name();
            }
            EntityKind::Method if child.is_virtual_method() => {
                has_virtual = true;
                // An override of a base method reuses the base's slot; httpserv.h declares none,
                // but a newer header might.
                if !child.get_overridden_methods().unwrap_or_default().is_empty() {
                    continue;
                }
                methods.push(read_method(&child, false)?);
            }
            EntityKind::Destructor if child.is_virtual_method() => {
                has_virtual = true;
                methods.push(read_method(&child, true)?);
            }
            _ => {}
        }
    }
    if !has_virtual && base.is_none() {
        return Ok(None);
    }
    Ok(Some(Class { name: name.to_string(), base, uuid: uuid_of(entity), methods, is_com: false }))
}

fn read_method(entity: &Entity, is_destructor: bool) -> Result<Method, String> {
    let name = entity.get_name().ok_or("method without a name")?;
    let name = if is_destructor { name } else { written_name(entity).unwrap_or(name) };
    let ret = match entity.get_result_type() {
        Some(ty) => ctype(&ty)?,
        None => CType::Void,
    };
    let mut params = Vec::new();
    for (index, arg) in entity.get_arguments().unwrap_or_default().iter().enumerate() {
        let ty = arg.get_type().ok_or_else(|| format!("{name}: parameter without a type"))?;
        params.push(Param {
            name: arg.get_name().unwrap_or_else(|| format!("arg{index}")),
            ty: ctype(&ty)?,
            by_reference: ty.get_kind() == TypeKind::LValueReference,
        });
    }
    Ok(Method { name, is_const: entity.is_const_method(), is_destructor, ret, params })
}

/// The name of a method as written in the header. windows.h's A/W macros rename some
/// (`IHttpUser::GetUserName` becomes `GetUserNameA` or `GetUserNameW` depending on `UNICODE`);
/// the bindings keep the header's name. The slot does not depend on the name.
fn written_name(entity: &Entity) -> Option<String> {
    let location = entity.get_location()?.get_expansion_location();
    let text = location.file?.get_contents()?;
    let name: String = text
        .get(location.offset as usize..)?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

fn read_typedef(entity: &Entity, header: &mut Header) -> Result<(), String> {
    let Some(name) = entity.get_name() else { return Ok(()) };
    let Some(underlying) = entity.get_typedef_underlying_type() else { return Ok(()) };
    let canonical = underlying.get_canonical_type();
    if canonical.get_kind() == TypeKind::Record {
        let target = canonical.get_declaration().and_then(|d| d.get_name()).ok_or("typedef of an unnamed record")?;
        header.aliases.push((name, target));
        return Ok(());
    }
    if canonical.get_kind() == TypeKind::Pointer {
        let pointee = canonical.get_pointee_type().ok_or("pointer without pointee")?;
        if pointee.get_kind() == TypeKind::FunctionPrototype {
            // Read the prototype as written to keep typedef names in its signature.
            let written = underlying.get_pointee_type().unwrap_or(pointee);
            let proto = strip_sugar(&written);
            let ret = ctype(&proto.get_result_type().ok_or("prototype without result")?)?;
            let param_names: Vec<String> = entity
                .get_children()
                .iter()
                .filter(|c| c.get_kind() == EntityKind::ParmDecl)
                .map(|c| c.get_name().unwrap_or_default())
                .collect();
            let mut params = Vec::new();
            for (index, ty) in proto.get_argument_types().unwrap_or_default().iter().enumerate() {
                let name = param_names.get(index).filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| format!("arg{index}"));
                params.push(Param { name, ty: ctype(ty)?, by_reference: false });
            }
            header.fn_typedefs.push(FnTypedef { name, ret, params });
        }
    }
    Ok(())
}

/// Removes parentheses and elaboration around a function prototype type.
fn strip_sugar<'tu>(ty: &Type<'tu>) -> Type<'tu> {
    let mut ty = *ty;
    loop {
        match ty.get_kind() {
            TypeKind::Elaborated => ty = ty.get_elaborated_type().unwrap_or(ty.get_canonical_type()),
            TypeKind::Unexposed => ty = ty.get_canonical_type(),
            _ => return ty,
        }
        if ty.get_kind() == TypeKind::FunctionPrototype {
            return ty;
        }
    }
}

/// Translates a libclang type, keeping typedef names; arrays decay to pointers and references
/// become pointers, as they are passed.
pub fn ctype(ty: &Type) -> Result<CType, String> {
    match ty.get_kind() {
        TypeKind::Void => Ok(CType::Void),
        TypeKind::Bool => Ok(CType::Bool),
        TypeKind::Elaborated => {
            let inner = ty.get_elaborated_type().ok_or("elaborated type without inner type")?;
            let mut translated = ctype(&inner)?;
            if let CType::Named(name) = &mut translated {
                // `enum X` / `class X` spelled with a keyword keeps the bare name.
                *name = name.trim_start_matches("enum ").trim_start_matches("class ").trim_start_matches("struct ").to_string();
            }
            Ok(translated)
        }
        TypeKind::Typedef | TypeKind::Record | TypeKind::Enum => {
            let name = ty
                .get_declaration()
                .and_then(|d| d.get_name())
                .unwrap_or_else(|| ty.get_display_name());
            Ok(CType::Named(name))
        }
        TypeKind::Pointer | TypeKind::LValueReference => {
            let pointee = ty.get_pointee_type().ok_or("pointer without pointee")?;
            Ok(CType::Pointer { pointee: Box::new(ctype(&pointee)?), is_const: pointee.is_const_qualified() })
        }
        TypeKind::ConstantArray | TypeKind::IncompleteArray | TypeKind::DependentSizedArray => {
            let element = ty.get_element_type().ok_or("array without element type")?;
            Ok(CType::Pointer { pointee: Box::new(ctype(&element)?), is_const: element.is_const_qualified() })
        }
        TypeKind::UChar | TypeKind::CharU => Ok(CType::Named("UCHAR".into())),
        TypeKind::UInt => Ok(CType::Named("UINT".into())),
        TypeKind::Int => Ok(CType::Named("INT".into())),
        other => Err(format!("unsupported type {other:?}: {}", ty.get_display_name())),
    }
}

fn uuid_of(entity: &Entity) -> Option<String> {
    let range = entity.get_range()?;
    let text: String = range.tokenize().iter().map(|t| t.get_spelling()).collect::<Vec<_>>().join(" ");
    let start = text.find("uuid ( \"")? + "uuid ( \"".len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_ascii_lowercase())
}
