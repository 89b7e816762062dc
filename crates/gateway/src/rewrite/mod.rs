//! What the gateway changes in bodies on their way: the request prepared for the upstream
//! (chat ⇄ responses translation, then normalization for the model family), and the answer
//! edited back for the client (translation, the usage chunk the gateway asked for, filter
//! annotations, Azure's content-filter refusal in OpenAI's shape).

mod content_filter;
mod json_edit;
pub mod request;
pub mod response;
mod sse_edit;
mod translation;

pub use request::{Prepared, prepare};
pub use response::{BodyEdit, EditPlan};
