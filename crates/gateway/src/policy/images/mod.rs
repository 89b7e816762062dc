//! Request image compression (`server.imageCompression`): inline images larger than
//! `minBytes` are downscaled to fit `maxSize` and re-encoded before the body is routed, so
//! large screenshots and photos cost less upload time and stay under Azure's request limits.
//!
//! - [`settings`]: the compiled config, decode limits and the fast path.
//! - [`find`]: where images sit in a JSON body.
//! - [`inline`]: one image's text (data URL or base64), its threshold and its write-back.
//! - [`codec`]: decode, resize, encode.
//!
//! Nearly every request takes the fast path: a body too short to hold a large image, or one
//! without `data:image` or `image_base64`, is returned as it came, unparsed. The rest is parsed
//! and recompressed on the blocking pool, never on an event loop.

mod codec;
mod find;
mod inline;
pub mod settings;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::error::GatewayError;
use codec::Failure;
pub use settings::ImageCompression;

/// What one body's recompression did, for the debug log.
#[derive(Debug, Default)]
struct Tally {
    images: usize,
    before: usize,
    after: usize,
}

/// `body` with its large inline images recompressed; the same `Bytes` when nothing changed
/// (including bodies that are not JSON: the pipeline's own parser answers those).
///
/// A large image that cannot be decoded is the client's 400 (`invalid_image`, `param` naming
/// where it sits).
pub async fn compress(body: Bytes, cfg: &Arc<ImageCompression>) -> Result<Bytes, GatewayError> {
    if !cfg.may_hold_images(&body) {
        return Ok(body);
    }
    let permit = Arc::clone(&cfg.permits)
        .acquire_owned()
        .await
        .map_err(|_| GatewayError::Internal("image compression is shut down".to_owned()))?;
    let settings = Arc::clone(cfg);
    let input = body.clone();
    // The permit moves into the task: a client that goes away does not free a slot while its
    // images are still being decoded.
    let joined = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        rewrite_body(&input, &settings)
    })
    .await;
    match joined {
        Ok(Ok(Some((out, tally)))) => {
            tracing::debug!(
                images = tally.images,
                image_bytes_before = tally.before,
                image_bytes_after = tally.after,
                body_bytes_before = body.len(),
                body_bytes_after = out.len(),
                "request images recompressed"
            );
            Ok(out)
        }
        Ok(Ok(None)) => Ok(body),
        Ok(Err(err)) => Err(err),
        Err(e) => {
            tracing::error!(error = %e, "image compression task failed");
            Err(GatewayError::Internal(
                "image compression failed".to_owned(),
            ))
        }
    }
}

/// The blocking half: parse, find, recompress each image, serialize. `None`: nothing changed.
fn rewrite_body(body: &[u8], s: &ImageCompression) -> Result<Option<(Bytes, Tally)>, GatewayError> {
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return Ok(None);
    };
    let mut tally = Tally::default();
    for slot in find::slots(&mut json) {
        match inline::rewrite(slot.text, slot.kind, s) {
            Ok(Some(replaced)) => {
                tally.images += 1;
                tally.before += replaced.before;
                tally.after += replaced.after;
            }
            Ok(None) => {}
            Err(Failure::Invalid(reason)) => {
                let param = slot.path();
                return Err(GatewayError::InvalidImage {
                    message: format!("Invalid image in '{param}': {reason}."),
                    param,
                });
            }
            Err(Failure::Encode(detail)) => {
                tracing::warn!(param = %slot.path(), error = %detail, "image re-encoding failed");
                return Err(GatewayError::Internal(
                    "an image could not be re-encoded".to_owned(),
                ));
            }
        }
    }
    if tally.images == 0 {
        return Ok(None);
    }
    let out = serde_json::to_vec(&json)
        .map_err(|e| GatewayError::Internal(format!("re-serializing the body: {e}")))?;
    Ok(Some((Bytes::from(out), tally)))
}

#[cfg(test)]
mod test_images;
#[cfg(test)]
mod tests;
