use chartbridge::chart;

#[chart(color = "red")]
fn price() -> f64 {
    1.0
}

fn main() {}
