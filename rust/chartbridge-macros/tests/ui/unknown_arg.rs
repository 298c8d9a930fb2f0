use chartbridge::chart;

struct Bar;

#[chart(kind = "candlestick", arg = bars)]
fn on_bar(bar: &Bar) -> Result<(), String> {
    let _ = bar;
    Ok(())
}

fn main() {}
