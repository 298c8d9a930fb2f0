use chartbridge::chart;

#[chart(colour = "#ff0000")]
fn price() -> f64 {
    1.0
}

fn main() {}
