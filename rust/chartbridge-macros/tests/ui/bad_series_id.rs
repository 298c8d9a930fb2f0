use chartbridge::chart;

#[chart(name = "a{run}b")]
fn price() -> f64 {
    1.0
}

fn main() {}
