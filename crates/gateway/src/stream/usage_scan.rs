//! Reads the counts out of one `usage` object's JSON text without a general parser.
//!
//! Every response carries one usage object, so this runs once per request. Going through
//! `serde_json::Value` (a map with owned keys) cost a tenth of the gateway's instructions
//! per small chat completion, and a typed serde visitor still more than all of the gateway's
//! own routing (bench/RESULTS.md). The object is tiny and flat, so a direct byte walk reads
//! it in a few hundred instructions. Any shape is accepted: a field of an unexpected type is
//! "absent", and text that is not a well-formed object gives `None`.

/// The raw counts of one `usage` object.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawUsage {
    pub prompt_tokens: Option<u64>,
    pub input_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub prompt_cached: Option<u64>,
    pub input_cached: Option<u64>,
    pub completion_reasoning: Option<u64>,
    pub output_reasoning: Option<u64>,
}

/// Reads `text`, which must be exactly one JSON object (surrounding whitespace allowed).
pub(super) fn read(text: &[u8]) -> Option<RawUsage> {
    let (u, end) = read_at(text, 0)?;
    let mut r = Reader { b: text, i: end };
    r.ws();
    (r.i == text.len()).then_some(u)
}

/// Reads the object that starts at `buf[start]` (leading whitespace allowed) in place, so a
/// body's usage needs no separate walk to find where it ends; returns the index just past it.
pub(super) fn read_at(buf: &[u8], start: usize) -> Option<(RawUsage, usize)> {
    let mut r = Reader { b: buf, i: start };
    let mut u = RawUsage::default();
    r.object(|r, key| {
        let slot = match key {
            b"prompt_tokens" => &mut u.prompt_tokens,
            b"input_tokens" => &mut u.input_tokens,
            b"completion_tokens" => &mut u.completion_tokens,
            b"output_tokens" => &mut u.output_tokens,
            b"total_tokens" => &mut u.total_tokens,
            b"cached_tokens" => &mut u.cached_tokens,
            b"prompt_tokens_details" => return r.detail(b"cached_tokens", &mut u.prompt_cached),
            // The Realtime API's `response.done` spells it without the plural `s`.
            b"input_tokens_details" | b"input_token_details" => {
                return r.detail(b"cached_tokens", &mut u.input_cached);
            }
            b"completion_tokens_details" => {
                return r.detail(b"reasoning_tokens", &mut u.completion_reasoning);
            }
            b"output_tokens_details" => {
                return r.detail(b"reasoning_tokens", &mut u.output_reasoning);
            }
            _ => return r.skip_value(),
        };
        *slot = r.count()?;
        Some(())
    })?;
    Some((u, r.i))
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Walks an object, calling `field` with each key (escaped keys are passed raw, so they
    /// match nothing) positioned at its value; `field` must consume the value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            field(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string at the cursor; returns its raw content.
    fn string(&mut self) -> Option<&'a [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let end = super::json_tail::string_end(self.b, start)?;
        self.i = end + 1;
        self.b.get(start..end)
    }

    /// A `*_tokens_details` value: an object whose `inner` count is read; anything else is
    /// skipped and leaves `slot` absent.
    fn detail(&mut self, inner: &[u8], slot: &mut Option<u64>) -> Option<()> {
        if self.peek()? != b'{' {
            return self.skip_value();
        }
        self.object(|r, key| {
            if key == inner {
                *slot = r.count()?;
                Some(())
            } else {
                r.skip_value()
            }
        })
    }

    /// A count: integers as they are, finite floats truncated (some engines send `12.0`),
    /// negatives clamped to 0; null or any other type is absent (`Some(None)`).
    fn count(&mut self) -> Option<Option<u64>> {
        let start = self.i;
        let c = self.peek()?;
        if !(c == b'-' || c.is_ascii_digit()) {
            self.skip_value()?;
            return Some(None);
        }
        if let Some(n) = self.plain_count() {
            return Some(Some(n));
        }
        while self.peek().is_some_and(number_byte) {
            self.i += 1;
        }
        let text = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        if let Ok(n) = text.parse::<u64>() {
            return Some(Some(n));
        }
        let f = text.parse::<f64>().ok()?;
        Some(f.is_finite().then(|| f.max(0.0) as u64))
    }

    /// Plain digits, what counts nearly always are, read without `str::parse` (which, with
    /// its UTF-8 check, cost more than the rest of the walk). `None`, cursor unmoved, for a
    /// sign, fraction, exponent or overflow: `count` then parses the token in full.
    fn plain_count(&mut self) -> Option<u64> {
        let mut n = 0u64;
        let mut i = self.i;
        while let Some(&c) = self.b.get(i) {
            if !c.is_ascii_digit() {
                if number_byte(c) {
                    return None;
                }
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            i += 1;
        }
        if i == self.i {
            return None;
        }
        self.i = i;
        Some(n)
    }

    /// Skips one value of any type.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                self.i = super::json_tail::balanced_end(self.b, self.i)?;
                Some(())
            }
            _ => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

/// A byte that may appear in a JSON number.
fn number_byte(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_details_and_skips_the_rest() {
        let u = read(
            br#" {"completion_tokens": 1843, "x": {"y": [1, {"z": "}"}]}, "prompt_tokens":20,
            "total_tokens":1863, "completion_tokens_details":{"audio_tokens":null,
            "reasoning_tokens":448}, "prompt_tokens_details":{"cached_tokens":12.9},
            "cached_tokens": -3, "note": "a \"quoted\" \\ value"} "#,
        )
        .unwrap();
        assert_eq!(u.completion_tokens, Some(1843));
        assert_eq!(u.prompt_tokens, Some(20));
        assert_eq!(u.total_tokens, Some(1863));
        assert_eq!(u.completion_reasoning, Some(448));
        assert_eq!(u.prompt_cached, Some(12));
        assert_eq!(u.cached_tokens, Some(0));
    }

    #[test]
    fn reads_realtime_token_details() {
        let u = read(
            br#"{"total_tokens":253,"input_tokens":132,"output_tokens":121,
            "input_token_details":{"text_tokens":119,"audio_tokens":13,"cached_tokens":64,
            "cached_tokens_details":{"text_tokens":64,"audio_tokens":0}},
            "output_token_details":{"text_tokens":30,"audio_tokens":91}}"#,
        )
        .unwrap();
        assert_eq!(u.input_tokens, Some(132));
        assert_eq!(u.output_tokens, Some(121));
        assert_eq!(u.total_tokens, Some(253));
        assert_eq!(u.input_cached, Some(64));
    }

    #[test]
    fn plain_and_unusual_numbers() {
        let u = read(
            br#"{"prompt_tokens":007,"completion_tokens":18446744073709551615,
            "total_tokens":18446744073709551616,"cached_tokens":1e2,"input_tokens":-0,
            "output_tokens":12.0}"#,
        )
        .unwrap();
        assert_eq!(u.prompt_tokens, Some(7));
        assert_eq!(u.completion_tokens, Some(u64::MAX));
        // Past u64: the float path saturates.
        assert_eq!(u.total_tokens, Some(u64::MAX));
        assert_eq!(u.cached_tokens, Some(100));
        assert_eq!(u.input_tokens, Some(0));
        assert_eq!(u.output_tokens, Some(12));
        assert_eq!(read(br#"{"prompt_tokens":1x}"#), None);
    }

    #[test]
    fn reads_in_place_and_reports_the_end() {
        let buf = br#"{"usage": {"prompt_tokens":3, "x":{"y":"}"}} ,"z":1}"#;
        let (u, end) = read_at(buf, 10).unwrap();
        assert_eq!(u.prompt_tokens, Some(3));
        assert_eq!(&buf[end..], br#" ,"z":1}"#);
        assert_eq!(read_at(buf, 1), None);
    }

    #[test]
    fn odd_types_are_absent_and_bad_text_is_none() {
        let u = read(br#"{"prompt_tokens":"7","input_tokens_details":5,"output_tokens":true}"#)
            .unwrap();
        assert_eq!(u, RawUsage::default());
        assert_eq!(read(b"{}"), Some(RawUsage::default()));
        for bad in [
            &b""[..],
            b"null",
            b"[1]",
            b"{\"prompt_tokens\":1",
            b"{\"prompt_tokens\" 1}",
            b"{\"prompt_tokens\":1} x",
            b"{\"prompt_tokens\":1,}",
            b"{\"a\":}",
        ] {
            assert_eq!(read(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
