//! Parsing and checking the `#[chart(...)]` arguments, with errors pointing at the bad token.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

const KEYS: &str = "kind, pane, title, color, name, options, precision, min_move, unit, ema, sma, raw, arg";
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
    /// Decimals shown (0 to 15) and tick size, written as the `priceFormat` option (SPEC section 5).
    pub precision: Option<u32>,
    pub min_move: Option<f64>,
    /// The `unit` option: 1 to 16 characters.
    pub unit: Option<LitStr>,
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
                "precision" => args.precision = Some(precision(value)?),
                "min_move" => args.min_move = Some(min_move(value)?),
                "unit" => args.unit = Some(check_unit(string(value)?)?),
                "ema" | "sma" => args.indicators.push(Indicator { ema: key == "ema", period: period(value)? }),
                "raw" => args.raw = Some(boolean(value)?),
                "arg" => args.arg = Some(ident(value)?),
                _ => return Err(syn::Error::new_spanned(&nv.path, format!("unknown #[chart] option; expected one of: {KEYS}"))),
            }
        }
        if args.min_move.is_some() && args.precision.is_none() {
            return Err(syn::Error::new(Span::call_site(), "`min_move` needs `precision` (the decimals shown)"));
        }
        if args.raw == Some(false) && args.indicators.is_empty() {
            return Err(syn::Error::new(Span::call_site(), "`raw = false` without `ema` or `sma` would chart nothing"));
        }
        Ok(args)
    }
}

impl Args {
    /// The registry options: `options` with `priceFormat` and `unit` from `precision`, `min_move`, `unit`.
    pub fn options_json(&self) -> String {
        let mut options = match self.options.as_ref().map(|o| serde_json::from_str(&o.value())) {
            Some(Ok(serde_json::Value::Object(map))) => map,
            _ => serde_json::Map::new(),
        };
        if let Some(precision) = self.precision {
            // 10^-precision as the nearest f64 (what parsing "1e-5" gives), as the Python SDK.
            let tick = self.min_move.unwrap_or_else(|| format!("1e-{precision}").parse().unwrap_or(1.0));
            options.insert("priceFormat".into(), serde_json::json!({"type": "price", "precision": precision, "minMove": tick}));
        }
        if let Some(unit) = &self.unit {
            options.insert("unit".into(), serde_json::Value::String(unit.value()));
        }
        serde_json::Value::Object(options).to_string()
    }
}

fn precision(value: &Expr) -> syn::Result<u32> {
    let n = match literal(value) {
        Some(Lit::Int(i)) => i.base10_parse::<u32>().ok(),
        _ => None,
    };
    n.filter(|n| *n <= 15).ok_or_else(|| syn::Error::new_spanned(value, "expected a precision: an integer from 0 to 15"))
}

fn min_move(value: &Expr) -> syn::Result<f64> {
    let n = match literal(value) {
        Some(Lit::Float(f)) => f.base10_parse::<f64>().ok(),
        Some(Lit::Int(i)) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite() && *n > 0.0).ok_or_else(|| syn::Error::new_spanned(value, "expected a tick size: a number above 0"))
}

fn check_unit(lit: LitStr) -> syn::Result<LitStr> {
    if (1..=16).contains(&lit.value().chars().count()) { Ok(lit) } else { Err(err(&lit, "expected a unit of 1 to 16 characters")) }
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
