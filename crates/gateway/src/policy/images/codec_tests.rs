use image::{GenericImageView, ImageFormat};

use super::super::test_images::*;
use super::*;

fn compressed(data: &[u8], s: &ImageCompression) -> (ImageFormat, DynamicImage) {
    let encoded = recompress(data, s).unwrap().expect("recompressed");
    let (format, image) = open(&encoded.bytes);
    let expected = match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(encoded.mime, expected);
    (format, image)
}

fn invalid(data: &[u8]) -> String {
    let s = settings(64, 0, Output::Jpeg);
    match recompress(data, &s) {
        Err(Failure::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn a_large_photo_is_downscaled_to_jpeg_keeping_its_aspect() {
    let s = settings(200, 0, Output::Jpeg);
    let (format, out) = compressed(&png(&photo(600, 400)), &s);
    assert_eq!(format, ImageFormat::Jpeg);
    assert_eq!(out.dimensions(), (200, 133));
    // Portrait: the height is the side that fits.
    let (_, out) = compressed(&png(&photo(300, 900)), &s);
    assert_eq!(out.dimensions(), (67, 200));
}

#[test]
fn transparency_is_kept_as_png_under_jpeg_and_as_webp_alpha() {
    let source = png(&transparent(400, 240));
    let (format, out) = compressed(&source, &settings(100, 0, Output::Jpeg));
    assert_eq!((format, out.dimensions()), (ImageFormat::Png, (100, 60)));
    let rgba = out.to_rgba8();
    assert_eq!(rgba.get_pixel(5, 30).0[3], 0, "the transparent quarter");
    assert_eq!(rgba.get_pixel(80, 55).0[3], 255, "the opaque part");
    assert!((100..=156).contains(&rgba.get_pixel(80, 2).0[3]), "half");

    let (format, out) = compressed(&source, &settings(100, 0, Output::Webp));
    assert_eq!((format, out.dimensions()), (ImageFormat::WebP, (100, 60)));
    assert!(out.color().has_alpha());
    assert!(out.to_rgba8().get_pixel(5, 30).0[3] < 16);
}

#[test]
fn an_alpha_channel_that_is_opaque_everywhere_is_not_transparency() {
    let (format, out) = compressed(&opaque_rgba_png(300, 200), &settings(100, 0, Output::Jpeg));
    assert_eq!((format, out.dimensions()), (ImageFormat::Jpeg, (100, 67)));
    let (format, out) = compressed(&opaque_rgba_png(300, 200), &settings(100, 0, Output::Webp));
    assert_eq!(format, ImageFormat::WebP);
    assert!(
        !out.color().has_alpha(),
        "no alpha plane for an opaque image"
    );
}

#[test]
fn an_image_that_fits_is_kept_unless_reencoding_makes_it_smaller() {
    // A noisy PNG within maxSize: the JPEG is far smaller, same size in pixels.
    let (_, out) = compressed(&png(&photo(120, 80)), &settings(200, 0, Output::Jpeg));
    assert_eq!(out.dimensions(), (120, 80));
    // A low-quality JPEG would only grow at quality 85: kept.
    let small = jpeg(&photo(120, 80), 20);
    assert!(
        recompress(&small, &settings(200, 0, Output::Jpeg))
            .unwrap()
            .is_none()
    );
    // Too large in pixels: replaced even if the bytes grow.
    let (_, out) = compressed(&small, &settings(60, 0, Output::Jpeg));
    assert_eq!(out.dimensions(), (60, 40));
}

#[test]
fn animations_are_left_alone_and_still_gifs_are_not() {
    let s = settings(32, 0, Output::Jpeg);
    assert!(recompress(&gif_of(64, 48, 3), &s).unwrap().is_none());
    assert!(recompress(&animated_webp(64, 48), &s).unwrap().is_none());
    assert!(
        recompress(&apng(&png(&photo(64, 48))), &s)
            .unwrap()
            .is_none()
    );
    let (format, out) = compressed(&gif_of(64, 48, 1), &s);
    assert_eq!((format, out.dimensions()), (ImageFormat::Jpeg, (32, 24)));
}

#[test]
fn exif_orientation_is_applied() {
    let (_, out) = compressed(
        &jpeg_rotated(&photo(400, 200)),
        &settings(100, 0, Output::Jpeg),
    );
    assert_eq!(out.dimensions(), (50, 100), "upright: portrait");
}

#[test]
fn broken_and_hostile_images_are_refused_without_panicking() {
    let good = png(&photo(64, 48));
    assert!(invalid(&good[..good.len() / 2]).contains("could not be decoded"));
    assert!(invalid(b"GIF89a\x01").contains("could not be decoded"));
    assert!(invalid(b"definitely not an image").contains("not an image"));
    assert!(invalid(b"BM\x00\x00\x00\x00\x00\x00").contains("bmp images are not supported"));
    let bomb = invalid(&bomb(100_000, 100_000));
    assert!(bomb.contains("too large to decode"), "{bomb}");
    // Within the side limit but over the memory limit: 16000 × 16000 × 4 bytes.
    let bomb = invalid(&super::super::test_images::bomb(16_000, 16_000));
    assert!(bomb.contains("too large to decode"), "{bomb}");
}
