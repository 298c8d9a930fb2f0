use chartbridge::chart;

#[chart(ema = 0)]
fn price() -> f64 {
    1.0
}

fn main() {}
