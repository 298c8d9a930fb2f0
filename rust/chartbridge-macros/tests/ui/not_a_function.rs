use chartbridge::chart;

#[chart]
struct Price(f64);

fn main() {}
