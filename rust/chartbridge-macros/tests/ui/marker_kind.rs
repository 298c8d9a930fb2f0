use chartbridge::chart;

#[chart(kind = "marker")]
fn price() -> f64 {
    1.0
}

fn main() {}
