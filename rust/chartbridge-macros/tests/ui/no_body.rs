use chartbridge::chart;

trait Strategy {
    #[chart]
    fn price(&self) -> f64;
}

fn main() {}
