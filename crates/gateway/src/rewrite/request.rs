//! The request as the upstream gets it: translated to the upstream's API when the model's
//! routes say so, then normalized for the model family; and the plan for editing the answer.

use bytes::Bytes;

use super::response::EditPlan;
use crate::call::Operation;
use crate::config::Annotations;
use crate::error::GatewayError;
use crate::inbound::shapes::Dialect;
use crate::policy::normalize;
use crate::route::Plan;

/// One JSON request, ready for the upstream.
pub struct Prepared {
    /// The operation the upstream is asked for: the client's, or the one it is translated to.
    pub op: Operation,
    /// The body to send, when it is not the client's.
    pub body: Option<Bytes>,
    /// Client parameters removed on the way (for `x-aoai-gateway-dropped-params`).
    pub dropped: Vec<&'static str>,
    pub edit: EditPlan,
}

/// Prepares `body` (a JSON request of `op`) for the upstream `plan` describes.
pub fn prepare(
    op: Operation,
    body: &Bytes,
    stream: bool,
    plan: &Plan<'_>,
    dialect: Dialect,
) -> Result<Prepared, GatewayError> {
    let (upstream_op, translated) = match plan.translate {
        Some(other) => (other, Some(super::translation::request(op, other, body)?)),
        None => (op, None),
    };
    let (sent, mut dropped, back) = match translated {
        Some(t) => (Some(t.body), t.dropped, Some(t.back)),
        None => (None, Vec::new(), None),
    };
    let normalized = normalize::apply(
        upstream_op,
        sent.as_ref().unwrap_or(body),
        stream,
        &plan.rules,
    )?;
    dropped.extend(normalized.dropped);
    // A translated answer is rebuilt for the client: nothing to strip or filter in it.
    let passthrough = back.is_none();
    Ok(Prepared {
        op: upstream_op,
        body: normalized.body.or(sent),
        dropped,
        edit: EditPlan {
            strip_usage: passthrough && normalized.strip_usage,
            drop_annotations: passthrough && plan.rules.annotations == Annotations::Drop,
            reshape_filter_errors: dialect != Dialect::Inference,
            back,
        },
    })
}
