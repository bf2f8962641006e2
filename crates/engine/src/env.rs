//! Numbers read from the environment: the knobs tests of the binary and benchmarks turn
//! (checkpoint interval, the sizes from which codes are made and indexes mapped). A value that
//! is not a number is ignored, as if unset.

/// The number in the environment variable `name`, if it holds one.
pub(crate) fn number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}
