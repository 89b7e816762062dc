//! Real images for the tests, made on the spot: photos (gradients and noise, so they do not
//! compress to nothing), transparency, animations, and broken or hostile files.

use std::io::Cursor;
use std::sync::Arc;

use image::codecs::gif::{GifEncoder, Repeat};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{
    DynamicImage, ExtendedColorType, Frame, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba,
    RgbaImage,
};

use super::settings::ImageCompression;
use crate::config::{ImageCompressionConfig, ImageFormat as Output};

/// Compiled settings for a test.
pub fn settings(max_size: u32, min_bytes: u64, format: Output) -> Arc<ImageCompression> {
    let cfg = ImageCompressionConfig {
        max_size,
        min_bytes,
        format,
        ..Default::default()
    };
    ImageCompression::from_config(Some(&cfg)).unwrap()
}

/// Deterministic noise in 0..=255.
fn noise(x: u32, y: u32, seed: u32) -> u8 {
    let mut n = x
        .wrapping_mul(374_761_393)
        .wrapping_add(y.wrapping_mul(668_265_263))
        .wrapping_add(seed.wrapping_mul(2_246_822_519));
    n = (n ^ (n >> 13)).wrapping_mul(1_274_126_177);
    (n ^ (n >> 16)) as u8
}

/// A photo-like RGB image: gradients with noise.
pub fn photo(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        let n = noise(x, y, 1) / 4;
        Rgb([
            ((x * 200 / width) as u8).saturating_add(n),
            ((y * 200 / height) as u8).saturating_add(n),
            (((x + y) * 100 / (width + height)) as u8).saturating_add(n),
        ])
    }))
}

/// A photo with a fully transparent left quarter and a half-transparent band at the top.
pub fn transparent(width: u32, height: u32) -> DynamicImage {
    let rgb = photo(width, height).into_rgb8();
    DynamicImage::ImageRgba8(RgbaImage::from_fn(width, height, |x, y| {
        let Rgb([r, g, b]) = *rgb.get_pixel(x, y);
        let a = if x < width / 4 {
            0
        } else if y < height / 8 {
            128
        } else {
            255
        };
        Rgba([r, g, b, a])
    }))
}

pub fn png(image: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

pub fn jpeg(image: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (what phones write).
pub fn jpeg_rotated(image: &DynamicImage) -> Vec<u8> {
    // TIFF header (little-endian), one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
    let exif = vec![
        0x49, 0x49, 0x2a, 0x00, 0x08, 0, 0, 0, 0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0, 0, 0,
        0x06, 0x00, 0x00, 0x00, 0, 0, 0, 0,
    ];
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 95);
    encoder.set_exif_metadata(exif).unwrap();
    encoder
        .write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// A GIF of `frames` frames (one frame: a still GIF).
pub fn gif_of(width: u32, height: u32, frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 30);
        encoder.set_repeat(Repeat::Infinite).unwrap();
        for i in 0..frames {
            let buffer = RgbaImage::from_fn(width, height, |x, y| {
                Rgba([noise(x, y, i), (x % 256) as u8, (y % 256) as u8, 255])
            });
            encoder.encode_frame(Frame::new(buffer)).unwrap();
        }
    }
    out
}

/// An animated WebP of two frames.
pub fn animated_webp(width: u32, height: u32) -> Vec<u8> {
    let a = photo(width, height).into_rgba8();
    let b = transparent(width, height).into_rgba8();
    let config = webp::WebPConfig::new().unwrap();
    let mut encoder = webp::AnimEncoder::new(width, height, &config);
    encoder.add_frame(webp::AnimFrame::from_rgba(a.as_raw(), width, height, 0));
    encoder.add_frame(webp::AnimFrame::from_rgba(b.as_raw(), width, height, 100));
    encoder.encode().to_vec()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    out.extend_from_slice(&crc32(&covered).to_be_bytes());
    out
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// `png` made an APNG: an `acTL` chunk right after `IHDR` (8 + 25 bytes in).
pub fn apng(png: &[u8]) -> Vec<u8> {
    let mut actl = 1u32.to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    let mut out = png[..33].to_vec();
    out.extend(chunk(b"acTL", &actl));
    out.extend_from_slice(&png[33..]);
    out
}

/// A tiny PNG whose header claims `width`×`height` RGBA pixels (a decompression bomb's shape).
pub fn bomb(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = PNG_SIGNATURE.to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// An 8-bit RGBA PNG via the PNG encoder directly (an alpha channel, every pixel opaque).
pub fn opaque_rgba_png(width: u32, height: u32) -> Vec<u8> {
    let rgba = photo(width, height).into_rgba8();
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// Decodes an output image: its format and pixels.
pub fn open(bytes: &[u8]) -> (ImageFormat, DynamicImage) {
    let format = image::guess_format(bytes).unwrap();
    (format, image::load_from_memory(bytes).unwrap())
}
