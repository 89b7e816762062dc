//! One inline image's text: a `data:image/…;base64,…` URL or bare base64. Measured before it
//! is decoded, so an image at or under `minBytes` costs no more than reading its length.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::codec::{self, Failure, detail};
use super::find::{Kind, has_prefix};
use super::settings::ImageCompression;

/// Media types the decoders read (`image/jpg` is a common misspelling of `image/jpeg`).
const DECODABLE: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/webp",
    "image/gif",
];

/// Decoded sizes of an image that was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Replaced {
    pub before: usize,
    pub after: usize,
}

/// The parts of an inline image's text.
struct Inline<'a> {
    /// The `data:` URL's media type; `None` for bare base64.
    media: Option<&'a str>,
    base64: bool,
    payload: &'a str,
}

fn parse(text: &str, kind: Kind) -> Result<Inline<'_>, Failure> {
    if kind == Kind::Base64 && !has_prefix(text, "data:") {
        return Ok(Inline {
            media: None,
            base64: true,
            payload: text,
        });
    }
    let Some((header, payload)) = text.get("data:".len()..).and_then(|t| t.split_once(',')) else {
        return Err(Failure::Invalid(
            "the data URL has no ',' before its data".to_owned(),
        ));
    };
    let mut params = header.split(';');
    let media = params.next().unwrap_or_default().trim();
    let base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    Ok(Inline {
        media: Some(media),
        base64,
        payload,
    })
}

/// Recompresses the image in `text` in place when its decoded size exceeds `minBytes`.
pub(super) fn rewrite(
    text: &mut String,
    kind: Kind,
    s: &ImageCompression,
) -> Result<Option<Replaced>, Failure> {
    let inline = parse(text, kind)?;
    // Base64 is 4 characters per 3 bytes; whitespace and padding only make it smaller.
    let most = u64::try_from(inline.payload.len()).unwrap_or(u64::MAX) / 4 * 3 + 2;
    if most <= s.min_bytes {
        return Ok(None);
    }
    if let Some(media) = inline.media
        && !DECODABLE.iter().any(|d| d.eq_ignore_ascii_case(media))
    {
        let message =
            format!("`{media}` is not a supported image type; send PNG, JPEG, WebP or GIF");
        return Err(Failure::Invalid(message));
    }
    if !inline.base64 {
        let message = "the data URL must be base64 (`data:image/png;base64,…`)".to_owned();
        return Err(Failure::Invalid(message));
    }
    let data = decode_base64(inline.payload)?;
    if u64::try_from(data.len()).unwrap_or(u64::MAX) <= s.min_bytes {
        return Ok(None);
    }
    let Some(encoded) = codec::recompress(&data, s)? else {
        return Ok(None);
    };
    let replaced = Replaced {
        before: data.len(),
        after: encoded.bytes.len(),
    };
    let mut out = String::with_capacity(encoded.bytes.len() / 3 * 4 + 32);
    if inline.media.is_some() {
        out.push_str("data:");
        out.push_str(encoded.mime);
        out.push_str(";base64,");
    }
    STANDARD.encode_string(&encoded.bytes, &mut out);
    *text = out;
    Ok(Some(replaced))
}

/// Standard base64, padded or not; line breaks (MIME-style wrapping) are tolerated.
fn decode_base64(payload: &str) -> Result<Vec<u8>, Failure> {
    let bad = |e: base64::DecodeError| {
        Failure::Invalid(format!("the image is not valid base64 ({})", detail(&e)))
    };
    let trimmed = payload.trim_end_matches('=');
    match base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed) {
        Ok(data) => Ok(data),
        Err(e) if payload.bytes().any(|b| b.is_ascii_whitespace()) => {
            let compact: String = payload
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(compact.trim_end_matches('='))
                .map_err(|_| bad(e))
        }
        Err(e) => Err(bad(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_are_split_into_type_encoding_and_data() {
        let i = parse("data:image/png;base64,AAAA", Kind::Url).ok().unwrap();
        assert_eq!(
            (i.media, i.base64, i.payload),
            (Some("image/png"), true, "AAAA")
        );
        let i = parse("data:image/svg+xml;utf8,<svg/>", Kind::Url)
            .ok()
            .unwrap();
        assert_eq!((i.media, i.base64), (Some("image/svg+xml"), false));
        let i = parse("iVBORw0KGgo", Kind::Base64).ok().unwrap();
        assert_eq!((i.media, i.payload), (None, "iVBORw0KGgo"));
        let i = parse("DATA:Image/PNG;name=a.png;BASE64,AAAA", Kind::Base64)
            .ok()
            .unwrap();
        assert_eq!((i.media, i.base64), (Some("Image/PNG"), true));
        assert!(parse("data:image/png;base64", Kind::Url).is_err());
    }

    #[test]
    fn base64_padding_and_line_breaks_are_tolerated() {
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64("aGVs\r\nbG8=").unwrap(), b"hello");
        assert!(matches!(decode_base64("aGk!"), Err(Failure::Invalid(m)) if m.contains("base64")));
    }
}
