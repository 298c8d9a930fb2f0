//! Misuse of `#[chart]` is a compile error that points at the offending token.

#[test]
fn misuse_is_a_compile_error_with_a_precise_span() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
