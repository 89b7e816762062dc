//! Client-facing dialects. Each maps its routes onto the shared pipeline in [`crate::proxy`].

pub mod openai;
