//! Audio: transcriptions and translations (multipart in, text out) and speech (JSON in,
//! audio bytes out).
//!
//! - `transcribe`: the transcript in every `response_format`, usage by model family, SSE.
//! - `speech`: deterministic audio in six formats, streamed in several frames.

mod speech;
mod transcribe;

pub(crate) use speech::speech;
pub(crate) use transcribe::transcribe;
