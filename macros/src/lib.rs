use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn http_module(_a: TokenStream, item: TokenStream) -> TokenStream { item }
