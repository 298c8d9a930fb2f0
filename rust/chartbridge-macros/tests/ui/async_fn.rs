use chartbridge::chart;

#[chart]
async fn price() -> f64 {
    1.0
}

fn main() {}
