use chartbridge::chart;

#[chart(options = "[1, 2]")]
fn price() -> f64 {
    1.0
}

fn main() {}
