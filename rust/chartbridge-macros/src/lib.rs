//! `#[chart]`: charts what a function returns (or one of its arguments) through `chartbridge`.
//!
//! ```text
//! #[chart]                                          // a line of the return value
//! #[chart(kind = "histogram", pane = "volume")]     // any series kind but marker, any pane
//! #[chart(ema = 20)]                                // EMA(20) of the value (`raw = true` keeps it too)
//! #[chart(kind = "candlestick", arg = bar)]         // charts the `bar` argument as it arrives
//! ```
//! Options: `kind`, `pane`, `title`, `color` ("#rrggbb"), `name` (the series id), `options`
//! (lightweight-charts series options as a JSON object string), `ema`, `sma`, `raw`, `arg`.

mod args;
mod expand;

use proc_macro::TokenStream;

#[proc_macro_attribute]
pub fn chart(attr: TokenStream, item: TokenStream) -> TokenStream {
    args::Args::parse(attr.into())
        .and_then(|args| expand::expand(args, item.into()))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
