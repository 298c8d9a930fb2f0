//! The Redis key layout of SPEC.md section 2. All keys of a run share the hash tag `{<run>}`.

pub struct Keys {
    prefix: String,
    tagged: String,
}

impl Keys {
    /// Both names must already be valid (see `names`).
    pub fn new(prefix: &str, run: &str) -> Keys {
        Keys { prefix: prefix.to_owned(), tagged: format!("{prefix}:{{{run}}}") }
    }

    pub fn runs(&self) -> String {
        format!("{}:runs", self.prefix)
    }

    pub fn runlog(&self) -> String {
        format!("{}:runlog", self.prefix)
    }

    pub fn manifest(&self) -> String {
        format!("{}:manifest", self.tagged)
    }

    pub fn registry(&self) -> String {
        format!("{}:series", self.tagged)
    }

    pub fn series(&self, id: &str) -> String {
        format!("{}:s:{id}", self.tagged)
    }

    pub fn events(&self) -> String {
        format!("{}:events", self.tagged)
    }

    pub fn plugins(&self) -> String {
        format!("{}:plugins", self.tagged)
    }

    /// Points each series lost (SPEC "Outages and loss").
    pub fn lost(&self) -> String {
        format!("{}:lost", self.tagged)
    }

    /// The uncommitted diff when the run started (SPEC section 5).
    pub fn dirty(&self) -> String {
        format!("{}:dirty", self.tagged)
    }

    pub fn results(&self) -> String {
        format!("{}:results", self.tagged)
    }
}
