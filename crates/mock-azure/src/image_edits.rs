//! Image edits (`image` or repeated `image[]` parts, `prompt`, optional `mask`) and, on
//! the engine face only, variations. The answer has the generations shape; its
//! `revised_prompt` says what arrived (image count and bytes, mask bytes, deployment).

use axum::response::Response;
use http::StatusCode;

use crate::config::Behavior;
use crate::multipart::Form;
use crate::record::Tracker;
use crate::route::Op;
use crate::{errors, handler, images};

pub(crate) fn answer(
    op: Op,
    form: &Form,
    deployment: &str,
    behavior: &Behavior,
    tracker: Tracker,
) -> Response {
    let images: Vec<usize> = form
        .parts("image")
        .chain(form.parts("image[]"))
        .map(|p| p.data.len())
        .collect();
    if images.is_empty() {
        return errors::invalid_field("Missing required parameter: 'image'.", "image");
    }
    let bytes: usize = images.iter().sum();
    let revised_prompt = if op == Op::ImageVariations {
        format!("variation of 1 image, {bytes} bytes, by {deployment}")
    } else {
        let Some(prompt) = form.text("prompt").filter(|p| !p.is_empty()) else {
            return errors::invalid_field("Missing required parameter: 'prompt'.", "prompt");
        };
        let mask = form
            .part("mask")
            .map(|m| format!(", mask {} bytes", m.data.len()))
            .unwrap_or_default();
        format!(
            "edited {} image(s), {bytes} bytes{mask}, by {deployment}: {prompt}",
            images.len()
        )
    };
    let n = match form.text("n").map(str::parse::<u64>).transpose() {
        Ok(n) => images::count(n),
        Err(_) => images::count(Some(0)),
    };
    let built = n.and_then(|n| {
        let as_url = images::as_url(form.text("response_format"))?;
        images::build(n, as_url, &revised_prompt)
    });
    match built {
        Ok(json) => handler::send_json(StatusCode::OK, json, behavior, tracker),
        Err(message) => errors::invalid_request(StatusCode::BAD_REQUEST, &message, None, None),
    }
}
