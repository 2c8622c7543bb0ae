//! Generates the registration (`RegisterModule`) and the handler masks.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Handlers, Item, Module, PrioritySpec};
use crate::handlers as handler_names;

pub fn expand(item: &Item) -> syn::Result<TokenStream> {
    Ok(match item {
        Item::Module(module) => module_tokens(module),
        Item::Handlers(handlers) => handler_tokens(handlers),
    })
}

fn module_tokens(module: &Module) -> TokenStream {
    let item = &module.item;
    let ty = &item.ident;
    // Errors point at the user's type; names resolve where the closure below is (a
    // `macro_rules!` expansion passing the type in would otherwise hide `registrar`).
    let span = proc_macro2::Span::call_site().located_at(ty.span());
    let mut steps = vec![quote_spanned! {span=> registrar.request_module::<#ty>()?; }];
    // A priority for a handler the module lacks: the impl block implements `Implements<name>`
    // for each handler it defines, so this bound fails once, at the name the user wrote.
    let implements = |target: &dyn quote::ToTokens, names: TokenStream, handler: &syn::Ident| {
        let hspan = handler.span();
        let target = respan(quote::ToTokens::to_token_stream(target), hspan);
        quote_spanned! {hspan=>
            const _: fn() = || {
                fn module_implements<M: ?::core::marker::Sized + ::httpserv::__private::Implements<H>, H>() {}
                module_implements::<#target, ::httpserv::__private::#names::#handler>();
            };
        }
    };
    let mut checks = Vec::new();
    if let Some(spec) = &module.priority {
        if let PrioritySpec::Each(pairs) = spec {
            checks.extend(pairs.iter().map(|(handler, _)| implements(ty, quote!(request_handler_names), handler)));
        }
        steps.push(priority_steps(spec, quote!(<#ty as ::httpserv::__private::Handlers>::REQUEST), quote!(request_priority), |handler, priority| {
            let hspan = handler.span();
            quote_spanned! {hspan=>
                registrar.request_priority(::httpserv::request_masks::#handler.0, ::httpserv::Priority::#priority)?;
            }
        }));
    }
    if let Some(global) = &module.global {
        let gspan = proc_macro2::Span::call_site().located_at(global.span());
        steps.push(quote_spanned! {gspan=> registrar.global_module(<#global as ::core::default::Default>::default())?; });
        if let Some(spec) = &module.global_priority {
            if let PrioritySpec::Each(pairs) = spec {
                checks.extend(pairs.iter().map(|(handler, _)| implements(global, quote!(global_handler_names), handler)));
            }
            steps.push(priority_steps(spec, quote!(<#global as ::httpserv::__private::GlobalHandlers>::GLOBAL), quote!(global_priority), |handler, priority| {
                let hspan = handler.span();
                quote_spanned! {hspan=>
                    registrar.global_priority(::httpserv::global_masks::#handler, ::httpserv::Priority::#priority)?;
                }
            }));
        }
    }
    // The module type's `Send` is checked once, by `HttpModule`'s supertrait at the impl block.
    let mut extra = TokenStream::new();
    if let Some(state) = &module.state {
        let sspan = state.span();
        // The one place the state's bounds are checked (`ModuleState::State`), at the type the
        // user named; `state()` and the registration only use the bound.
        let state_impl = quote_spanned! {sspan=> type State = #state; };
        let missing = format!("`{ty}::state()` called outside a handler of the `{ty}` module (use `try_state()` or keep the `Arc`)");
        extra.extend(quote! {
            impl ::httpserv::__private::ModuleState for #ty {
                #state_impl
            }

            impl #ty {
                /// The module's state: one value per registration (per `RegisterModule` call,
                /// so per test server in tests), created with `Default` by `RegisterModule` and
                /// shared by every request and the global module. Clone the `Arc` to keep it
                /// past the handler.
                ///
                /// # Panics
                /// Outside a handler (or `Drop`, or `Default`) of this module.
                pub fn state() -> ::std::sync::Arc<<Self as ::httpserv::__private::ModuleState>::State> {
                    ::httpserv::__private::state_of::<Self>().expect(#missing)
                }

                /// The module's state ([`Self::state`]), or `None` outside its handlers.
                pub fn try_state() -> ::core::option::Option<::std::sync::Arc<<Self as ::httpserv::__private::ModuleState>::State>> {
                    ::httpserv::__private::state_of::<Self>()
                }
            }
        });
    }
    let make_state = match &module.state {
        Some(_) => quote! { ::httpserv::__private::make_state::<#ty> },
        None => quote! { || ::core::option::Option::None },
    };
    let name = match &module.name {
        Some(name) => quote! { #name },
        None => {
            let name = ty.to_string();
            quote! { #name }
        }
    };
    // `RegisterModule` is defined in a module of its own and glob re-exported: two
    // `#[http_module]` structs in one Rust module then do not collide on the function (glob
    // re-exports may overlap) but only on the marker below, so the misuse is one error.
    let entry = syn::Ident::new(&format!("__httpserv_entry_{ty}"), ty.span());
    // Named after the rule, and placed at the second struct's name: two structs anywhere in
    // the crate collide here (`#[macro_export]` puts it at the crate root). Not named
    // `RegisterModule`: a macro-expanded `macro_export` macro cannot be imported by path
    // (`use crate::RegisterModule` would then be refused).
    let marker = syn::Ident::new("only_one_http_module_struct_per_crate", ty.span());
    let marker_macro = quote_spanned! {ty.span()=>
        /// Defined once per crate: a second `#[http_module]` struct would export a second
        /// `RegisterModule`, which a DLL cannot have.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #marker {
            () => {};
        }
    };
    quote! {
        #item

        #(#checks)*
        #extra

        impl #ty {
            /// The name to install this module under (`appcmd install module /name:...`).
            pub const MODULE_NAME: &'static str = #name;

            #[doc(hidden)]
            pub unsafe fn __httpserv_register_module(
                server_version: u32,
                module_info: *mut ::httpserv::__private::IHttpModuleRegistrationInfo,
                server: *mut ::httpserv::__private::IHttpServer,
            ) -> ::httpserv::__private::HRESULT {
                // SAFETY: the arguments are IIS's, passed through unchanged.
                unsafe {
                    ::httpserv::__private::register_module(server_version, module_info, server, #make_state, |registrar| {
                        #(#steps)*
                        ::core::result::Result::Ok(())
                    })
                }
            }
        }

        #[doc(hidden)]
        #[allow(non_snake_case)]
        pub mod #entry {
            /// The entry point IIS calls when it loads the module DLL. One per DLL.
            ///
            /// # Safety
            /// Called by IIS (or a test server) with its registration info and server.
            #[unsafe(no_mangle)]
            pub unsafe extern "system" fn RegisterModule(
                server_version: u32,
                module_info: *mut ::httpserv::__private::IHttpModuleRegistrationInfo,
                server: *mut ::httpserv::__private::IHttpServer,
            ) -> ::httpserv::__private::HRESULT {
                // SAFETY: IIS's arguments, passed through unchanged.
                unsafe { super::#ty::__httpserv_register_module(server_version, module_info, server) }
            }
        }
        pub use self::#entry::*;

        #marker_macro
    }
}

/// `tokens` with every span set to `span` (so a trait-bound error lands on the user's token).
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn handler_tokens(handlers: &Handlers) -> TokenStream {
    let (item, moved) = split_handlers(handlers);
    let item = &item;
    let ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    // Only the names httpserv defines: a misspelled one is rustc's E0407 ("not a member of
    // trait"), with its suggestion, and nothing else.
    let known = if handlers.global { handler_names::GLOBAL } else { handler_names::REQUEST };
    let names: Vec<&syn::Ident> = handlers.handlers.iter().filter(|n| known.contains(&n.to_string().as_str())).collect();
    if handlers.global {
        quote! {
            #item

            impl #impl_generics ::httpserv::__private::GlobalHandlers for #ty #where_clause {
                const GLOBAL: u32 = 0 #(| ::httpserv::global_masks::#names)*;
            }
            #(impl #impl_generics ::httpserv::__private::Implements<::httpserv::__private::global_handler_names::#names> for #ty #where_clause {})*
        }
    } else {
        quote! {
            #item
            #moved

            impl #impl_generics ::httpserv::__private::Handlers for #ty #where_clause {
                const REQUEST: u32 = 0 #(| ::httpserv::request_masks::#names.0)*;
                const POST_REQUEST: u32 = 0 #(| ::httpserv::request_masks::#names.1)*;
            }
            #(impl #impl_generics ::httpserv::__private::Implements<::httpserv::__private::request_handler_names::#names> for #ty #where_clause {})*
        }
    }
}

/// The registration calls of a priority spec: every bit of `mask` for `All`, one call per named
/// handler (with a compile-time check that the handler exists) for `Each`.
fn priority_steps(spec: &PrioritySpec, mask: TokenStream, method: TokenStream, each: impl Fn(&syn::Ident, &syn::Ident) -> TokenStream) -> TokenStream {
    match spec {
        PrioritySpec::All(priority) => quote! {
            for bit in 0..32 {
                let notification = 1u32 << bit;
                if #mask & notification != 0 {
                    registrar.#method(notification, ::httpserv::Priority::#priority)?;
                }
            }
        },
        PrioritySpec::Each(pairs) => pairs.iter().map(|(handler, priority)| each(handler, priority)).collect(),
    }
}

/// Moves each `async fn` handler, and each sync handler that returns something other than
/// `NotificationStatus` (a `Result`), into an inherent method (`__httpserv_on_x`), and puts in
/// its place the trait method that runs it: with IIS as the executor
/// (`httpserv::__private::start_async`) or reporting its `Err` (`httpserv::__private::finish`).
fn split_handlers(handlers: &Handlers) -> (syn::ItemImpl, TokenStream) {
    let mut item = handlers.item.clone();
    if handlers.global {
        return (item, TokenStream::new());
    }
    let ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let mut moved = Vec::new();
    for entry in item.items.iter_mut() {
        let syn::ImplItem::Fn(f) = entry else { continue };
        let is_async = handlers.async_handlers.iter().any(|(name, _)| *name == f.sig.ident);
        if !is_async && !crate::ast::returns_result(f) {
            continue;
        }
        let name = f.sig.ident.clone();
        let inner = syn::Ident::new(&format!("__httpserv_{name}"), name.span());
        let mut body = f.clone();
        body.sig.ident = inner.clone();
        body.attrs.retain(|a| !a.path().is_ident("doc"));
        moved.push(quote! {
            #[doc(hidden)]
            #body
        });
        let attrs = &f.attrs;
        let label = format!("HttpModule::{name}");
        if let Some((_, provider)) = handlers.async_handlers.iter().find(|(n, _)| *n == name) {
            let provider = syn::Ident::new(provider, name.span());
            *entry = syn::parse_quote_spanned! {name.span()=>
                #(#attrs)*
                fn #name(&mut self, context: &::httpserv::HttpContext<'_>, _provider: &::httpserv::#provider<'_>) -> ::httpserv::NotificationStatus {
                    ::httpserv::__private::start_async(self, context, #label, Self::#inner)
                }
            };
            continue;
        }
        // The trait method takes the user's parameter types (so a wrong one is the usual
        // trait-mismatch error at the user's type) under names of its own; the first after
        // `self` is the context.
        let types: Vec<&syn::Type> = f.sig.inputs.iter().filter_map(|a| match a {
            syn::FnArg::Typed(t) => Some(&*t.ty),
            syn::FnArg::Receiver(_) => None,
        }).collect();
        let args: Vec<syn::Ident> = (0..types.len()).map(|i| quote::format_ident!("__httpserv_arg{}", i)).collect();
        // The body's `self` is the receiver's own token: a `macro_rules!` writing the handler
        // gives it that expansion's hygiene.
        let (receiver, self_token) = match f.sig.inputs.first() {
            Some(syn::FnArg::Receiver(r)) => (quote!(#r), r.self_token),
            _ => (quote!(&mut self), syn::Token![self](name.span())),
        };
        let output = match &f.sig.output {
            syn::ReturnType::Type(_, t) => t.span(),
            syn::ReturnType::Default => name.span(),
        };
        let context = &args[0];
        // A return type `finish` does not take is reported at the user's return type.
        let returned = syn::Ident::new("__httpserv_returned", output);
        *entry = syn::parse_quote_spanned! {name.span()=>
            #(#attrs)*
            fn #name(#receiver, #(#args: #types),*) -> ::httpserv::NotificationStatus {
                let #returned = Self::#inner(#self_token, #(#args),*);
                ::httpserv::__private::finish(#context, #label, #returned)
            }
        };
    }
    if moved.is_empty() {
        return (item, TokenStream::new());
    }
    let moved = quote! {
        impl #impl_generics #ty #where_clause {
            #(#moved)*
        }
    };
    (item, moved)
}
