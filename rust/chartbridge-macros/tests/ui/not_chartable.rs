use chartbridge::chart;

#[chart]
fn label() -> String {
    "up".to_owned()
}

fn main() {}
