//! Cursor pages (`limit`, `after`, `order`) over stored objects, in the list shape every
//! list operation answers: `{"object":"list","data","first_id","last_id","has_more"}`.

use serde_json::{Value, json};

use crate::errors::{self, Refusal};
use crate::route::query_param;

/// One page request, read from the query.
pub(crate) struct Page<'q> {
    limit: usize,
    after: Option<&'q str>,
    newest_first: bool,
}

impl<'q> Page<'q> {
    /// `limit` defaults to `default` and may not exceed `max`; `order` (`asc`/`desc`) is
    /// read only when `ordered`, else the order is `newest_first`.
    pub(crate) fn read(
        query: Option<&'q str>,
        default: usize,
        max: usize,
        ordered: bool,
        newest_first: bool,
    ) -> Result<Self, Refusal> {
        let limit = match query_param(query, "limit") {
            None => default,
            Some(raw) => raw
                .parse()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    let message =
                        format!("Invalid 'limit': expected an integer between 1 and {max}.");
                    Box::new(errors::invalid_field(&message, "limit"))
                })?,
        };
        let newest_first = match query_param(query, "order").filter(|_| ordered) {
            None => newest_first,
            Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                let message = format!("Invalid 'order': '{other}'. Expected 'asc' or 'desc'.");
                return Err(Box::new(errors::invalid_field(&message, "order")));
            }
        };
        let after = query_param(query, "after").filter(|a| !a.is_empty());
        Ok(Self {
            limit,
            after,
            newest_first,
        })
    }

    /// The page of `items` (oldest first, each with an `id`); an unknown `after` cursor
    /// gives an empty page.
    pub(crate) fn render(&self, mut items: Vec<Value>) -> Value {
        if self.newest_first {
            items.reverse();
        }
        let start = match self.after {
            None => 0,
            Some(after) => items
                .iter()
                .position(|item| item["id"] == after)
                .map_or(items.len(), |at| at + 1),
        };
        let rest = items.len() - start.min(items.len());
        let data: Vec<Value> = items.into_iter().skip(start).take(self.limit).collect();
        json!({
            "object": "list",
            "data": data,
            "first_id": data.first().map(|item| item["id"].clone()),
            "last_id": data.last().map(|item| item["id"].clone()),
            "has_more": rest > data.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!({"id": format!("x{i}")})).collect()
    }

    #[test]
    fn pages_forward_with_cursor() {
        let page = Page::read(Some("limit=2&after=x3"), 20, 100, true, true).unwrap();
        let v = page.render(items(5));
        assert_eq!(v["data"], json!([{"id": "x2"}, {"id": "x1"}]));
        assert_eq!(v["first_id"], "x2");
        assert_eq!(v["last_id"], "x1");
        assert_eq!(v["has_more"], true);
        let page = Page::read(Some("order=asc&after=x3"), 20, 100, true, true).unwrap();
        let v = page.render(items(5));
        assert_eq!(v["data"], json!([{"id": "x4"}]));
        assert_eq!(v["has_more"], false);
    }

    #[test]
    fn empty_and_unknown_cursor() {
        let page = Page::read(Some("after=nope"), 20, 100, false, false).unwrap();
        let v = page.render(items(3));
        assert_eq!(v["data"], json!([]));
        assert!(v["first_id"].is_null() && v["last_id"].is_null());
        assert_eq!(v["has_more"], false);
    }

    #[test]
    fn bad_limits_and_orders() {
        for query in ["limit=0", "limit=101", "limit=x", "order=up"] {
            assert!(
                Page::read(Some(query), 20, 100, true, true).is_err(),
                "{query}"
            );
        }
        // `order` is not a parameter of unordered lists.
        assert!(Page::read(Some("order=up"), 20, 100, false, true).is_ok());
    }
}
