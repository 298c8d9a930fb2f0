use chartbridge::chart;

#[chart(precision = 16)]
fn too_precise(x: f64) -> f64 {
    x
}

#[chart(min_move = 0.25)]
fn tick_without_precision(x: f64) -> f64 {
    x
}

fn main() {}
