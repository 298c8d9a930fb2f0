use chartbridge::chart;

#[chart(ema)]
fn price() -> f64 {
    1.0
}

fn main() {}
