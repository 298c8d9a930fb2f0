use chartbridge::chart;

#[chart(kind = "pie")]
fn price() -> f64 {
    1.0
}

fn main() {}
