//! Parses and checks what `#[http_module]` is applied to.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, ItemImpl, ItemStruct, LitStr, Meta, Token, Type};

pub enum Item {
    Module(Module),
    Handlers(Handlers),
}

/// `#[http_module(...)] struct X;`
pub struct Module {
    pub item: ItemStruct,
    pub name: Option<LitStr>,
    pub priority: Option<PrioritySpec>,
    pub global: Option<Type>,
    pub global_priority: Option<PrioritySpec>,
    pub state: Option<Type>,
}

/// `priority = High` (every notification the module handles) or
/// `priority(on_send_response = Low, ...)` (per handler).
pub enum PrioritySpec {
    All(Ident),
    Each(Vec<(Ident, Ident)>),
}

/// `#[http_module] impl HttpModule for X { ... }` or `impl GlobalModule for X`.
pub struct Handlers {
    pub item: ItemImpl,
    pub global: bool,
    pub handlers: Vec<Ident>,
    /// The `async fn` handlers, and the provider type their trait method takes.
    pub async_handlers: Vec<(Ident, &'static str)>,
}

/// The notifications an `async fn` handler may have: the deterministic stages of the pipeline,
/// which IIS lets a module complete later (`RQ_NOTIFICATION_PENDING`, then `PostCompletion` /
/// `OnAsyncCompletion`), and the provider their trait method takes.
const ASYNC_HANDLERS: &[(&str, &str)] = &[
    ("on_begin_request", "EventProvider"),
    ("on_post_begin_request", "EventProvider"),
    ("on_authenticate_request", "AuthenticationProvider"),
    ("on_post_authenticate_request", "EventProvider"),
    ("on_authorize_request", "EventProvider"),
    ("on_post_authorize_request", "EventProvider"),
    ("on_resolve_request_cache", "EventProvider"),
    ("on_post_resolve_request_cache", "EventProvider"),
    ("on_map_request_handler", "MapHandlerProvider"),
    ("on_post_map_request_handler", "EventProvider"),
    ("on_acquire_request_state", "EventProvider"),
    ("on_post_acquire_request_state", "EventProvider"),
    ("on_pre_execute_request_handler", "EventProvider"),
    ("on_post_pre_execute_request_handler", "EventProvider"),
    ("on_execute_request_handler", "EventProvider"),
    ("on_post_execute_request_handler", "EventProvider"),
    ("on_release_request_state", "EventProvider"),
    ("on_post_release_request_state", "EventProvider"),
    ("on_update_request_cache", "EventProvider"),
    ("on_post_update_request_cache", "EventProvider"),
    ("on_log_request", "EventProvider"),
    ("on_post_log_request", "EventProvider"),
    ("on_end_request", "EventProvider"),
    ("on_post_end_request", "EventProvider"),
];

/// Checks an `async fn` handler: a deterministic notification, in `impl HttpModule`, with the
/// signature `async fn on_x(&mut self, context: &HttpContext<'_>) -> R`, where `R` is what a
/// sync handler may return (`NotificationStatus`, `HandlerResult`, ...).
fn async_handler(f: &syn::ImplItemFn, global: bool) -> syn::Result<(Ident, &'static str)> {
    let sig = &f.sig;
    let name = sig.ident.to_string();
    if global {
        return Err(syn::Error::new_spanned(sig.asyncness, "global handlers cannot be `async`: IIS runs global notifications synchronously"));
    }
    let Some(&(_, provider)) = ASYNC_HANDLERS.iter().find(|(n, _)| *n == name) else {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            format!("`{name}` cannot be `async`: only the pipeline's stages (on_begin_request ... on_end_request and their on_post_*) can be completed later"),
        ));
    };
    let receiver_ok = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some());
    if !receiver_ok || sig.inputs.len() != 2 {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("an async handler takes `(&mut self, context: &HttpContext<'_>)`: `async fn {name}(&mut self, context: &HttpContext<'_>) -> HandlerResult` (no provider: it belongs to the notification, which a suspended handler outlives)"),
        ));
    }
    Ok((sig.ident.clone(), provider))
}

/// A sync request handler whose return type is not written `NotificationStatus` (a `Result`,
/// `HandlerResult`, ...): `#[http_module]` wraps it so that its `Err` is reported to IIS.
pub fn returns_result(f: &syn::ImplItemFn) -> bool {
    if f.sig.asyncness.is_some() {
        return false;
    }
    match &f.sig.output {
        syn::ReturnType::Default => false,
        syn::ReturnType::Type(_, ty) => match &**ty {
            Type::Path(p) => p.qself.is_some() || p.path.segments.last().is_none_or(|s| !(s.ident == "NotificationStatus" || s.ident == "GlobalNotificationStatus") || !s.arguments.is_none()),
            _ => true,
        },
    }
}

/// Checks a sync handler `#[http_module]` wraps: `&mut self` and the context first.
fn wrapped_handler(f: &syn::ImplItemFn) -> syn::Result<()> {
    let sig = &f.sig;
    let receiver_ok = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some());
    if !receiver_ok || sig.inputs.len() < 2 {
        let name = &sig.ident;
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("a request handler takes `&mut self`, the context and the provider: `fn {name}(&mut self, context: &HttpContext<'_>, provider: &EventProvider<'_>) -> HandlerResult`"),
        ));
    }
    Ok(())
}

const PRIORITIES: &[&str] = &["First", "High", "Medium", "Low", "Last"];

pub fn parse(args: TokenStream, input: TokenStream) -> syn::Result<Item> {
    let item: syn::Item = syn::parse2(input)?;
    match item {
        syn::Item::Struct(item) => parse_module(args, item).map(Item::Module),
        syn::Item::Impl(item) => parse_handlers(args, item).map(Item::Handlers),
        other => Err(syn::Error::new_spanned(
            other,
            "#[http_module] goes on the module struct, or on its `impl HttpModule` / `impl GlobalModule` block",
        )),
    }
}

fn parse_module(args: TokenStream, item: ItemStruct) -> syn::Result<Module> {
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&item.generics, "an IIS module type cannot be generic: RegisterModule registers one concrete type"));
    }
    let mut module = Module { item, name: None, priority: None, global: None, global_priority: None, state: None };
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    for meta in metas {
        if let Meta::List(list) = &meta {
            let key = list.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let global = key == "global_priority";
            let each = PrioritySpec::Each(per_handler(list, global)?);
            match key.as_str() {
                "priority" => module.priority = Some(each),
                "global_priority" => module.global_priority = Some(each),
                _ => return Err(syn::Error::new_spanned(&list.path, format!("unknown argument `{key}(...)`: only priority(...) and global_priority(...) take a list"))),
            }
            continue;
        }
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new_spanned(meta, "expected `key = value`: name, priority, global, global_priority or state"));
        };
        let key = nv.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
        match key.as_str() {
            "name" => module.name = Some(module_name(&nv.value)?),
            "priority" => module.priority = Some(PrioritySpec::All(priority(&nv.value)?)),
            "global_priority" => module.global_priority = Some(PrioritySpec::All(priority(&nv.value)?)),
            "global" => module.global = Some(type_of(&nv.value)?),
            "state" => module.state = Some(type_of(&nv.value)?),
            _ => return Err(syn::Error::new_spanned(&nv.path, format!("unknown argument `{key}`: expected name, priority, global, global_priority or state"))),
        }
    }
    if module.global_priority.is_some() && module.global.is_none() {
        return Err(syn::Error::new(Span::call_site(), "`global_priority` needs a `global = Type` module"));
    }
    Ok(module)
}

fn parse_handlers(args: TokenStream, item: ItemImpl) -> syn::Result<Handlers> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(args, "#[http_module] on an impl block takes no arguments; put them on the module struct"));
    }
    let Some((_, trait_path, _)) = &item.trait_ else {
        return Err(syn::Error::new_spanned(&item.self_ty, "#[http_module] goes on `impl HttpModule for ...` or `impl GlobalModule for ...`, not on an inherent impl"));
    };
    let trait_name = trait_path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
    let global = match trait_name.as_str() {
        "HttpModule" => false,
        "GlobalModule" => true,
        _ => return Err(syn::Error::new_spanned(trait_path, "#[http_module] goes on `impl HttpModule for ...` or `impl GlobalModule for ...`")),
    };
    let handlers: Vec<Ident> = item
        .items
        .iter()
        .filter_map(|i| match i {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.clone()),
            _ => None,
        })
        .collect();
    let async_handlers = item
        .items
        .iter()
        .filter_map(|i| match i {
            syn::ImplItem::Fn(f) if f.sig.asyncness.is_some() => Some(async_handler(f, global)),
            _ => None,
        })
        .collect::<syn::Result<Vec<_>>>()?;
    if !global {
        for i in &item.items {
            if let syn::ImplItem::Fn(f) = i {
                if returns_result(f) && crate::handlers::REQUEST.contains(&f.sig.ident.to_string().as_str()) {
                    wrapped_handler(f)?;
                }
            }
        }
    }
    if handlers.is_empty() {
        return Err(syn::Error::new_spanned(&item.self_ty, "this module handles no notification: implement at least one handler, e.g. `fn on_begin_request`"));
    }
    Ok(Handlers { item, global, handlers, async_handlers })
}

/// A module name as IIS configuration takes it: 1 to 256 characters, letters, digits, `_`,
/// `-`, `.` and spaces, not starting or ending with a space.
fn module_name(value: &Expr) -> syn::Result<LitStr> {
    let Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(lit), .. }) = value else {
        return Err(syn::Error::new_spanned(value, "`name` takes a string literal"));
    };
    let name = lit.value();
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    if name.is_empty() || name.len() > 256 || !ok_chars || name.starts_with(' ') || name.ends_with(' ') {
        return Err(syn::Error::new_spanned(lit, format!("invalid module name {name:?}: use 1 to 256 letters, digits, `_`, `-`, `.` or inner spaces")));
    }
    Ok(lit.clone())
}

/// `(on_send_response = Low, on_begin_request = First)`: handler names and priorities.
fn per_handler(list: &syn::MetaList, global: bool) -> syn::Result<Vec<(Ident, Ident)>> {
    let pairs = list.parse_args_with(Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated)?;
    if pairs.is_empty() {
        return Err(syn::Error::new_spanned(list, "expected handler = priority pairs, e.g. priority(on_send_response = Low)"));
    }
    pairs
        .iter()
        .map(|pair| {
            let handler = pair.path.get_ident().cloned().ok_or_else(|| syn::Error::new_spanned(&pair.path, "expected a handler name, e.g. on_send_response"))?;
            check_priority_handler(&handler, global)?;
            Ok((handler, priority(&pair.value)?))
        })
        .collect()
}

/// A handler named in `priority(...)` (a request handler that has a priority) or
/// `global_priority(...)` (a global handler).
fn check_priority_handler(handler: &Ident, global: bool) -> syn::Result<()> {
    use crate::handlers::{closest, has_priority, GLOBAL, REQUEST};
    let name = handler.to_string();
    let (ok, list, what) = if global { (GLOBAL.contains(&name.as_str()), GLOBAL, "global_priority") } else { (has_priority(&name), REQUEST, "priority") };
    if ok {
        return Ok(());
    }
    let message = if !global && name.starts_with("on_post_") && REQUEST.contains(&name.as_str()) {
        let main = name.replacen("on_post_", "on_", 1);
        format!("`{name}` cannot have a priority of its own: IIS gives a notification and its post-notification one priority; use `{main}`")
    } else if !global && name == "on_async_completion" {
        "`on_async_completion` has no priority: IIS calls it for the notification that started the operation".to_string()
    } else if !global && GLOBAL.contains(&name.as_str()) {
        format!("`{name}` is a global handler: give its priority in `global_priority(...)`")
    } else if global && REQUEST.contains(&name.as_str()) {
        format!("`{name}` is a request handler: give its priority in `priority(...)`")
    } else {
        match closest(&name, list) {
            Some(near) => format!("unknown handler `{name}` in {what}(...): did you mean `{near}`?"),
            None => format!("unknown handler `{name}` in {what}(...): expected a handler name such as `{}`", list[0]),
        }
    };
    Err(syn::Error::new_spanned(handler, message))
}

fn priority(value: &Expr) -> syn::Result<Ident> {
    let ident = match value {
        Expr::Path(p) => p.path.get_ident().cloned(),
        _ => None,
    };
    match ident {
        Some(ident) if PRIORITIES.contains(&ident.to_string().as_str()) => Ok(ident),
        _ => Err(syn::Error::new_spanned(value, "unknown priority: expected First, High, Medium, Low or Last")),
    }
}

fn type_of(value: &Expr) -> syn::Result<Type> {
    match value {
        Expr::Path(p) => Ok(Type::Path(syn::TypePath { qself: p.qself.clone(), path: p.path.clone() })),
        _ => Err(syn::Error::new_spanned(value, "expected a type name")),
    }
}
