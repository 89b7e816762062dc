//! `server.imageCompression` compiled once per configuration: the encoder settings, the decode
//! limits, the cheap test that lets almost every request skip the feature, and the bound on
//! how many requests decode images at once.

use std::sync::Arc;

use image::Limits;
use memchr::memmem::Finder;
use tokio::sync::Semaphore;

use crate::config::{ImageCompressionConfig, ImageFormat};

/// Widest and tallest image decoded; a larger one is refused before any pixel is allocated.
pub const MAX_DECODE_SIDE: u32 = 16_384;
/// Most bytes a decoder may allocate for one image (an 8192×8192 RGBA image is exactly this):
/// a few bytes of PNG or GIF can claim gigabytes of pixels.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// What [`super::compress`] needs for each request.
#[derive(Debug)]
pub struct ImageCompression {
    /// Longest side after downscaling, in pixels.
    pub max_size: u32,
    /// Encoder quality, 1–100.
    pub quality: f32,
    pub format: ImageFormat,
    /// Decoded images of at most this many bytes are left alone.
    pub min_bytes: u64,
    data_url: Finder<'static>,
    base64_key: Finder<'static>,
    /// One decode at a time per CPU: the work is CPU-bound, and each one can hold a few
    /// hundred MiB, so more in parallel would only cost memory.
    pub(super) permits: Arc<Semaphore>,
}

impl ImageCompression {
    /// The compiled settings; `None` when the section is absent or `enabled` is false, so the
    /// request path does nothing at all.
    pub fn from_config(cfg: Option<&ImageCompressionConfig>) -> Option<Arc<Self>> {
        let cfg = cfg.filter(|c| c.enabled)?;
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Some(Arc::new(Self {
            max_size: cfg.max_size.max(1),
            quality: (cfg.quality * 100.0).clamp(1.0, 100.0) as f32,
            format: cfg.format,
            min_bytes: cfg.min_bytes,
            // No slash: JSON may escape it (`data:image\/png`).
            data_url: Finder::new(b"data:image").into_owned(),
            base64_key: Finder::new(b"image_base64").into_owned(),
            permits: Arc::new(Semaphore::new(cpus)),
        }))
    }

    /// Whether `body` may hold an image over the threshold. A body too short to hold one is
    /// not even searched; otherwise it needs `data:image` or `image_base64` somewhere.
    pub fn may_hold_images(&self, body: &[u8]) -> bool {
        // Base64 turns 3 bytes into 4, so a body of N bytes holds no image over N * 3 / 4.
        let most = u64::try_from(body.len()).unwrap_or(u64::MAX) / 4 * 3 + 2;
        most > self.min_bytes
            && (self.data_url.find(body).is_some() || self.base64_key.find(body).is_some())
    }

    /// JPEG quality, 1–100.
    pub(super) fn jpeg_quality(&self) -> u8 {
        self.quality.round().clamp(1.0, 100.0) as u8
    }
}

/// The decoder limits every inline image is held to.
pub(super) fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min_bytes: u64) -> Arc<ImageCompression> {
        let cfg = ImageCompressionConfig {
            min_bytes,
            ..Default::default()
        };
        ImageCompression::from_config(Some(&cfg)).unwrap()
    }

    #[test]
    fn absent_or_disabled_is_off() {
        assert!(ImageCompression::from_config(None).is_none());
        let off = ImageCompressionConfig {
            enabled: false,
            ..Default::default()
        };
        assert!(ImageCompression::from_config(Some(&off)).is_none());
        let on = settings(262_144);
        assert_eq!((on.max_size, on.jpeg_quality()), (1600, 85));
    }

    #[test]
    fn only_bodies_that_can_hold_a_large_image_are_looked_at() {
        let s = settings(30);
        let pad = "A".repeat(40);
        for body in [
            format!(r#"{{"image_url":"data:image/png;base64,{pad}"}}"#),
            format!(r#"{{"image_url":"data:image\/png;base64,{pad}"}}"#),
            format!(r#"{{"image_base64":"{pad}"}}"#),
        ] {
            assert!(s.may_hold_images(body.as_bytes()), "{body}");
        }
        let remote = format!(r#"{{"image_url":"https://example.com/{pad}.png"}}"#);
        assert!(!s.may_hold_images(remote.as_bytes()));
        // Too short for any image over 30 bytes, whatever it says.
        assert!(!s.may_hold_images(br#"{"image_base64":"AAAA"}"#));
    }
}
