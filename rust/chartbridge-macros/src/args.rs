//! Parsing and checking the `#[chart(...)]` arguments, with errors pointing at the bad token.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

const KEYS: &str = "kind, pane, title, color, name, options, ema, sma, raw, arg";
const KINDS: [&str; 6] = ["line", "area", "baseline", "histogram", "candlestick", "bar"];

/// A moving average asked for with `ema = N` / `sma = N`.
pub struct Indicator {
    pub ema: bool,
    pub period: u32,
}

#[derive(Default)]
pub struct Args {
    /// One of `KINDS`, kept as the literal for its span.
    pub kind: Option<LitStr>,
    pub pane: Option<LitStr>,
    pub title: Option<LitStr>,
    pub color: Option<LitStr>,
    pub name: Option<LitStr>,
    pub options: Option<LitStr>,
    pub indicators: Vec<Indicator>,
    pub raw: Option<bool>,
    pub arg: Option<Ident>,
}

impl Args {
    pub fn parse(tokens: TokenStream) -> syn::Result<Args> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        for meta in metas {
            let Meta::NameValue(nv) = meta else {
                return Err(syn::Error::new_spanned(meta, format!("expected `key = value`, with a key among: {KEYS}")));
            };
            let key = nv.path.get_ident().map(Ident::to_string).unwrap_or_default();
            if seen.contains(&key) {
                return Err(syn::Error::new_spanned(&nv.path, format!("`{key}` is given twice")));
            }
            seen.push(key.clone());
            let value = &nv.value;
            match key.as_str() {
                "kind" => args.kind = Some(check_kind(string(value)?)?),
                "pane" => args.pane = Some(string(value)?),
                "title" => args.title = Some(string(value)?),
                "color" => args.color = Some(check_color(string(value)?)?),
                "name" => args.name = Some(check_series_id(string(value)?)?),
                "options" => args.options = Some(check_options(string(value)?)?),
                "ema" | "sma" => args.indicators.push(Indicator { ema: key == "ema", period: period(value)? }),
                "raw" => args.raw = Some(boolean(value)?),
                "arg" => args.arg = Some(ident(value)?),
                _ => return Err(syn::Error::new_spanned(&nv.path, format!("unknown #[chart] option; expected one of: {KEYS}"))),
            }
        }
        if args.raw == Some(false) && args.indicators.is_empty() {
            return Err(syn::Error::new(Span::call_site(), "`raw = false` without `ema` or `sma` would chart nothing"));
        }
        Ok(args)
    }
}

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        _ => None,
    }
}

fn string(value: &Expr) -> syn::Result<LitStr> {
    match literal(value) {
        Some(Lit::Str(s)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(value, "expected a string literal")),
    }
}

fn boolean(value: &Expr) -> syn::Result<bool> {
    match literal(value) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(value, "expected `true` or `false`")),
    }
}

fn period(value: &Expr) -> syn::Result<u32> {
    let n = match literal(value) {
        Some(Lit::Int(i)) => i.base10_parse::<u32>().ok(),
        _ => None,
    };
    n.filter(|n| (1..=100_000).contains(n))
        .ok_or_else(|| syn::Error::new_spanned(value, "expected a period: an integer from 1 to 100000"))
}

fn ident(value: &Expr) -> syn::Result<Ident> {
    match value {
        Expr::Path(p) if p.path.get_ident().is_some() => Ok(p.path.segments[0].ident.clone()),
        _ => Err(syn::Error::new_spanned(value, "expected the name of one of the function's parameters")),
    }
}

fn check_kind(lit: LitStr) -> syn::Result<LitStr> {
    match lit.value().as_str() {
        k if KINDS.contains(&k) => Ok(lit),
        "marker" => Err(err(&lit, "#[chart] charts values and candles; add markers with `Series::marker`")),
        _ => Err(err(&lit, &format!("unknown series kind; expected one of: {}", KINDS.join(", ")))),
    }
}

fn check_color(lit: LitStr) -> syn::Result<LitStr> {
    let v = lit.value();
    let ok = v.len() == 7 && v.starts_with('#') && v[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(lit) } else { Err(err(&lit, "expected a colour as \"#rrggbb\"")) }
}

/// SPEC section 1: `[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}`.
fn check_series_id(lit: LitStr) -> syn::Result<LitStr> {
    let v = lit.value();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.:/-".contains(c);
    let first_ok = v.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
    if first_ok && v.len() <= 200 && v.chars().all(allowed) {
        Ok(lit)
    } else {
        Err(err(&lit, "invalid series id: letters, digits and `_ . : / -`, at most 200, not starting with `. : / -`"))
    }
}

fn check_options(lit: LitStr) -> syn::Result<LitStr> {
    match serde_json::from_str::<serde_json::Value>(&lit.value()) {
        Ok(v) if v.is_object() => Ok(lit),
        Ok(_) => Err(err(&lit, "options must be a JSON object of lightweight-charts series options")),
        Err(e) => Err(err(&lit, &format!("options are not valid JSON: {e}"))),
    }
}

fn err(lit: &LitStr, message: &str) -> syn::Error {
    syn::Error::new(lit.span(), message)
}
