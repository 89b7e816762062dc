//! Client-facing dialects. Each maps its routes onto the shared pipeline in [`crate::proxy`].

pub mod azure;
pub mod inference;
pub mod openai;
pub mod realtime;
pub mod shapes;

/// The raw (undecoded) value of query parameter `name`; `Some("")` for a bare `name`.
pub fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::query_param;

    #[test]
    fn finds_raw_values() {
        let q = Some("a=1&api-version=2024-10-21&flag");
        assert_eq!(query_param(q, "api-version"), Some("2024-10-21"));
        assert_eq!(query_param(q, "flag"), Some(""));
        assert_eq!(query_param(q, "b"), None);
        assert_eq!(query_param(None, "a"), None);
    }
}
