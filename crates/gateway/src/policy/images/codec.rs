//! One image: decode (PNG, JPEG, WebP, GIF, within [`settings::limits`]), downscale to fit
//! `maxSize`, re-encode.
//!
//! JPEG has no alpha channel, so under `format: "jpeg"` an image with real transparency (some
//! pixel's alpha below opaque) becomes a PNG instead; WebP keeps alpha in its lossy mode.
//! Animated images (GIF, APNG, WebP) are left as they are: a frame would lose the animation,
//! and Azure's vision models take still images only.

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngDecoder, PngEncoder};
use image::codecs::webp::WebPDecoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{
    AnimationDecoder, DynamicImage, ExtendedColorType, GenericImageView, ImageDecoder,
    ImageEncoder, ImageError, ImageFormat,
};

use super::settings::{self, ImageCompression};
use crate::config::ImageFormat as Output;

/// A re-encoded image.
#[derive(Debug)]
pub(super) struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

/// Why an image was not recompressed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// The client's image is broken, unsupported or too large to decode: a 400.
    Invalid(String),
    /// The gateway could not encode a decoded image: a 500.
    Encode(String),
}

const SUPPORTED: &str = "send PNG, JPEG, WebP or GIF";

/// `data` downscaled and re-encoded; `None` when it is better left as it is (animated, or
/// already within `maxSize` and no larger than what re-encoding gives).
pub(super) fn recompress(data: &[u8], s: &ImageCompression) -> Result<Option<Encoded>, Failure> {
    let Some(image) = decode(data)? else {
        return Ok(None);
    };
    let (width, height) = image.dimensions();
    let fits = width <= s.max_size && height <= s.max_size;
    let alpha = has_transparency(&image);
    let image = if fits {
        image
    } else {
        // Lanczos3: the sharpest of the usual filters when shrinking, which text in
        // screenshots needs; it keeps the aspect ratio and fits both sides within maxSize.
        image.resize(s.max_size, s.max_size, FilterType::Lanczos3)
    };
    let encoded = encode(image, alpha, s)?;
    if fits && encoded.bytes.len() >= data.len() {
        return Ok(None);
    }
    Ok(Some(encoded))
}

fn invalid(e: ImageError) -> Failure {
    match e {
        ImageError::Limits(_) => Failure::Invalid(format!(
            "the image is too large to decode (at most {side}×{side} pixels and {mib} MiB \
             decoded)",
            side = settings::MAX_DECODE_SIDE,
            mib = settings::MAX_DECODE_BYTES >> 20,
        )),
        e => Failure::Invalid(format!("the image could not be decoded ({})", detail(&e))),
    }
}

/// An error's text without its final period, to sit inside a sentence.
pub(super) fn detail(e: &dyn std::fmt::Display) -> String {
    let mut text = e.to_string();
    text.truncate(text.trim_end_matches('.').len());
    text
}

/// The still image in `data`, upright; `None` for an animation.
fn decode(data: &[u8]) -> Result<Option<DynamicImage>, Failure> {
    let unknown = || Failure::Invalid(format!("the data is not an image; {SUPPORTED}"));
    let format = image::guess_format(data).map_err(|_| unknown())?;
    let cursor = Cursor::new(data);
    let image = match format {
        ImageFormat::Png => {
            let decoder = PngDecoder::with_limits(cursor, settings::limits()).map_err(invalid)?;
            if decoder.is_apng().map_err(invalid)? {
                return Ok(None);
            }
            still(decoder)
        }
        ImageFormat::Jpeg => still(JpegDecoder::new(cursor).map_err(invalid)?),
        ImageFormat::WebP => {
            let decoder = WebPDecoder::new(cursor).map_err(invalid)?;
            if decoder.has_animation() {
                return Ok(None);
            }
            still(decoder)
        }
        ImageFormat::Gif => return gif(cursor),
        other => {
            let name = other.extensions_str().first().copied().unwrap_or("this");
            let message = format!("{name} images are not supported; {SUPPORTED}");
            return Err(Failure::Invalid(message));
        }
    };
    image.map(Some).map_err(invalid)
}

/// Decodes a single-frame image within the limits and turns it upright (EXIF orientation:
/// the re-encoded image carries no EXIF, so a phone photo would otherwise lie on its side).
fn still(mut decoder: impl ImageDecoder) -> Result<DynamicImage, ImageError> {
    let mut limits = settings::limits();
    limits.reserve(decoder.total_bytes())?;
    decoder.set_limits(limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// A GIF's only frame; `None` when it has more (an animation).
fn gif(cursor: Cursor<&[u8]>) -> Result<Option<DynamicImage>, Failure> {
    let mut decoder = GifDecoder::new(cursor).map_err(invalid)?;
    decoder.set_limits(settings::limits()).map_err(invalid)?;
    let mut frames = decoder.into_frames();
    let first = match frames.next() {
        Some(frame) => frame.map_err(invalid)?,
        None => return Err(Failure::Invalid("the GIF has no image".to_owned())),
    };
    match frames.next() {
        None => Ok(Some(DynamicImage::ImageRgba8(first.into_buffer()))),
        Some(Ok(_)) => Ok(None),
        Some(Err(e)) => Err(invalid(e)),
    }
}

/// Whether some pixel is less than fully opaque (an alpha channel alone is not enough: many
/// PNGs carry one that is opaque everywhere).
fn has_transparency(image: &DynamicImage) -> bool {
    match image {
        DynamicImage::ImageLumaA8(b) => b.pixels().any(|p| p.0[1] < u8::MAX),
        DynamicImage::ImageRgba8(b) => b.pixels().any(|p| p.0[3] < u8::MAX),
        DynamicImage::ImageLumaA16(b) => b.pixels().any(|p| p.0[1] < u16::MAX),
        DynamicImage::ImageRgba16(b) => b.pixels().any(|p| p.0[3] < u16::MAX),
        DynamicImage::ImageRgba32F(b) => b.pixels().any(|p| p.0[3] < 1.0),
        other => other.color().has_alpha() && other.to_rgba8().pixels().any(|p| p.0[3] < 255),
    }
}

fn encode(image: DynamicImage, alpha: bool, s: &ImageCompression) -> Result<Encoded, Failure> {
    let failed = |e: &dyn std::fmt::Debug| Failure::Encode(format!("{e:?}"));
    let (width, height) = image.dimensions();
    let mut bytes = Vec::new();
    let mime = match (s.format, alpha) {
        (Output::Jpeg, false) => {
            let rgb = image.into_rgb8();
            JpegEncoder::new_with_quality(&mut bytes, s.jpeg_quality())
                .write_image(rgb.as_raw(), width, height, ExtendedColorType::Rgb8)
                .map_err(|e| failed(&e))?;
            "image/jpeg"
        }
        (Output::Jpeg, true) => {
            // zlib level 3, not the default 6: for a 3000×2000 RGBA photo the whole request
            // took a third of the time, for 4% more bytes.
            let rgba = image.into_rgba8();
            PngEncoder::new_with_quality(
                &mut bytes,
                CompressionType::Level(3),
                PngFilter::Adaptive,
            )
            .write_image(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
            .map_err(|e| failed(&e))?;
            "image/png"
        }
        (Output::Webp, alpha) => {
            let memory = if alpha {
                let rgba = image.into_rgba8();
                webp::Encoder::from_rgba(rgba.as_raw(), width, height)
                    .encode_simple(false, s.quality)
            } else {
                let rgb = image.into_rgb8();
                webp::Encoder::from_rgb(rgb.as_raw(), width, height).encode_simple(false, s.quality)
            };
            bytes = memory.map_err(|e| failed(&e))?.to_vec();
            "image/webp"
        }
    };
    Ok(Encoded { bytes, mime })
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
