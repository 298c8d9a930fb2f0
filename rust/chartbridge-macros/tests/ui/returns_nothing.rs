use chartbridge::chart;

#[chart]
fn on_bar(price: f64) {
    let _ = price;
}

fn main() {}
