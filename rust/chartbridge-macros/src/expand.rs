//! Rewrites the function so each call records its return value (or an argument) at a site
//! described by a `static`, with the time taken before the body runs (arguments may be moved).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, TraitItemFn, Type};

use crate::args::Args;

pub fn expand(args: Args, item: TokenStream) -> syn::Result<TokenStream> {
    let mut func = parse_fn(item)?;
    if let Some(asyncness) = &func.sig.asyncness {
        return Err(syn::Error::new_spanned(asyncness, "#[chart] does not support async fn; chart from inside it with a `Series`"));
    }
    if let Some(constness) = &func.sig.constness {
        return Err(syn::Error::new_spanned(constness, "#[chart] cannot chart a const fn"));
    }
    let params = params(&func);
    let site = site(&args, &func.sig.ident);
    let owner = match func.sig.receiver() {
        Some(_) => quote!(::core::option::Option::Some(::core::any::type_name::<Self> as fn() -> &'static str)),
        None => quote!(::core::option::Option::None),
    };
    let charted_arg = match &args.arg {
        Some(arg) => Some(params.iter().find(|p| *p == arg).ok_or_else(|| {
            let names: Vec<String> = params.iter().map(Ident::to_string).collect();
            syn::Error::new_spanned(arg, format!("no parameter named `{arg}`; parameters: {}", names.join(", ")))
        })?),
        None => None,
    };
    let probes = params.iter().map(|p| quote!(.or_else(|| (&::chartbridge::__private::ArgTime(&#p)).ts())));
    let mut time = quote!(::chartbridge::__private::now_or(|| ::core::option::Option::None #(#probes)*));
    if let Some(arg) = charted_arg {
        // A charted event is charted at its own time: a clock set by the handler's body (a
        // backtest's `set_clock(bar.ts_event)`) still holds the previous event's when this is read.
        time = quote!((&::chartbridge::__private::ArgTime(&#arg)).ts().unwrap_or_else(|| #time));
    }
    let prelude = quote! {
        #site
        let __chartbridge_t = if ::chartbridge::__private::enabled() {
            #[allow(unused_imports)]
            use ::chartbridge::__private::{HasTime as _, NoTime as _};
            ::core::option::Option::Some(#time)
        } else {
            ::core::option::Option::None
        };
        // Conditions in the body belong to this site, at this call's time (chartbridge::condition).
        let __chartbridge_scope = ::chartbridge::__private::enter_scope(&__CHARTBRIDGE_SITE, #owner, __chartbridge_t);
    };
    // The call's time as a plain integer local in the body's scope, for a debugger's condition
    // ("Break Here": `__chartbridge_ns == <ns>`, src/extension/breakpoints.ts): one expression for
    // every argument type (a Nautilus `UnixNanos` is a newtype gdb cannot compare) and for the clock.
    let time_local = quote! {
        #[allow(unused_variables)]
        let __chartbridge_ns: i64 = __chartbridge_t.unwrap_or(0);
    };
    let block = &func.block;
    let body = match charted_arg {
        Some(arg) => {
            let record = quote_spanned!(arg.span()=> __CHARTBRIDGE_SITE.record(#owner, __t, &#arg));
            quote! {{
                #prelude
                if let ::core::option::Option::Some(__t) = __chartbridge_t { #record; }
                #time_local
                #block
            }}
        }
        None => {
            let ReturnType::Type(_, ty) = &func.sig.output else {
                return Err(nothing_returned(&func));
            };
            if matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) {
                return Err(nothing_returned(&func));
            }
            // `impl Trait` cannot annotate a `let`; elsewhere the annotation guides `?` inference.
            let annotation = (!mentions_impl(quote!(#ty))).then(|| quote!(: #ty));
            let record = quote_spanned!(ty.span()=> __CHARTBRIDGE_SITE.record(#owner, __t, &__chartbridge_ret));
            quote! {{
                #prelude
                // A closure, so that `return` and `?` in the body still reach the recording.
                #[allow(clippy::redundant_closure_call)]
                let __chartbridge_ret #annotation = (|| { #time_local #block })();
                if let ::core::option::Option::Some(__t) = __chartbridge_t { #record; }
                __chartbridge_ret
            }}
        }
    };
    func.block = syn::parse2(body)?;
    Ok(quote!(#func))
}

/// A function with a body; a trait method without one, or any other item, is an error.
fn parse_fn(item: TokenStream) -> syn::Result<ItemFn> {
    syn::parse2::<ItemFn>(item.clone()).map_err(|_| match syn::parse2::<TraitItemFn>(item.clone()) {
        Ok(decl) => syn::Error::new_spanned(&decl.sig, "#[chart] needs a function body; put it on the impl's method"),
        Err(_) => syn::Error::new_spanned(item, "#[chart] goes on a function or a method"),
    })
}

fn nothing_returned(func: &ItemFn) -> syn::Error {
    let name = &func.sig.ident;
    let span = match &func.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => func.sig.paren_token.span.join(),
    };
    syn::Error::new(span, format!("#[chart] charts the return value, and `{name}` returns nothing; return the value or chart a parameter with `arg = <name>`"))
}

/// Parameters bound to a plain name (those a time or `arg` can be taken from).
fn params(func: &ItemFn) -> Vec<Ident> {
    let typed = func.sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    });
    typed
        .filter_map(|t| match &*t.pat {
            Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
            _ => None,
        })
        .collect()
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => mentions_impl(g.stream()),
        _ => false,
    })
}

/// The `static` describing this site.
fn site(args: &Args, name: &Ident) -> TokenStream {
    let some_str = |s: &Option<syn::LitStr>| match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let kind = match &args.kind {
        Some(k) => {
            let variant = Ident::new(&capitalize(&k.value()), k.span());
            quote!(::core::option::Option::Some(::chartbridge::__private::Kind::#variant))
        }
        None => quote!(::core::option::Option::None),
    };
    let (id, title, color) = (some_str(&args.name), some_str(&args.title), some_str(&args.color));
    let pane = args.pane.as_ref().map_or_else(|| quote!("main"), |p| quote!(#p));
    let options = args.options_json();
    let indicators = args.indicators.iter().map(|i| {
        let variant = Ident::new(if i.ema { "Ema" } else { "Sma" }, Span::call_site());
        let period = i.period;
        quote!(::chartbridge::__private::Indicator::#variant(#period))
    });
    let raw = args.raw.unwrap_or(args.indicators.is_empty());
    let name = name.to_string();
    quote! {
        static __CHARTBRIDGE_SITE: ::chartbridge::__private::SiteSpec = ::chartbridge::__private::SiteSpec {
            name: #name,
            id: #id,
            kind: #kind,
            pane: #pane,
            title: #title,
            color: #color,
            options: #options,
            file: ::core::file!(),
            line: ::core::line!(),
            manifest_dir: ::core::env!("CARGO_MANIFEST_DIR"),
            indicators: &[#(#indicators),*],
            indicator_state: ::chartbridge::__private::SiteIndicators::new(),
            raw: #raw,
        };
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
