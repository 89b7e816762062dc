//! OpenTelemetry export (cargo feature `otel`): one OTLP span per finished request, named and
//! attributed after the OpenTelemetry GenAI semantic conventions, so any OTLP backend shows the
//! gateway's traffic as model calls.
//!
//! Spans are built from the same [`Record`] as every other sink, after the request is over
//! (start = arrival, end = arrival + latency), and handed to the SDK's batch processor, which
//! exports them from its own thread. The HTTP transport is the gateway's own hyper + rustls
//! stack on a small dedicated runtime (no second HTTP client in the build).
//!
//! Configured by the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) turns export on; `OTEL_EXPORTER_OTLP_PROTOCOL`
//! (`http/protobuf`, the default, or `http/json`), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_SERVICE_NAME` and `OTEL_BSP_*` work as documented by
//! OpenTelemetry.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use super::Record;

/// The tracer, set once by [`init`]; unset means export is off and [`export`] returns at once.
static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// One export request, connect to last byte.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Shuts the exporter down when dropped (end of `main`): spans still queued are sent first.
pub struct OtelGuard {
    provider: SdkTracerProvider,
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry shutdown");
        }
    }
}

/// Starts export when an OTLP endpoint is configured; `None` when none is (or it cannot
/// start, which is logged: the gateway serves without traces rather than not at all).
pub fn init() -> Option<OtelGuard> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let endpoint =
        env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))?;
    match start(&env) {
        Ok(guard) => {
            tracing::info!(endpoint = %endpoint, "OpenTelemetry export on");
            Some(guard)
        }
        Err(e) => {
            tracing::warn!(error = %e, "OpenTelemetry export NOT started");
            None
        }
    }
}

fn start(env: &dyn Fn(&str) -> Option<String>) -> Result<OtelGuard, String> {
    let protocol = match env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .as_deref()
    {
        None | Some("http/protobuf") => Protocol::HttpBinary,
        Some("http/json") => Protocol::HttpJson,
        Some(other) => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not supported (http/protobuf or http/json)"
            ));
        }
    };
    let transport = Transport::start()?;
    // The endpoint, headers and timeout come from the standard variables, read by the builder.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_http_client(transport)
        .build()
        .map_err(|e| e.to_string())?;
    let service = env("OTEL_SERVICE_NAME").unwrap_or_else(|| "aoai-gateway".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service)
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    let tracer = provider.tracer("aoai-gateway");
    TRACER
        .set(tracer)
        .map_err(|_| "already started".to_owned())?;
    Ok(OtelGuard { provider })
}

/// `gen_ai.operation.name` for a route key: the conventions' values where one fits, else the
/// route key itself.
pub fn operation_name(route: &'static str) -> &'static str {
    match route {
        "chat/completions" | "responses" | "realtime" => "chat",
        "completions" => "text_completion",
        "embeddings" => "embeddings",
        "images/generations" | "images/edits" | "images/variations" | "audio/speech" => {
            "generate_content"
        }
        other => other,
    }
}

fn int(n: u64) -> Value {
    Value::I64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The span's attributes (GenAI conventions, then the gateway's own).
pub fn attributes(rec: &Record) -> Vec<KeyValue> {
    let op = operation_name(rec.operation);
    let mut a = Vec::with_capacity(16);
    a.push(KeyValue::new("gen_ai.operation.name", op));
    a.push(KeyValue::new("gen_ai.provider.name", "azure.ai.openai"));
    if !rec.model.is_empty() {
        a.push(KeyValue::new(
            "gen_ai.request.model",
            Arc::clone(&rec.model),
        ));
    }
    if let Some(deployment) = &rec.deployment {
        a.push(KeyValue::new(
            "gen_ai.response.model",
            Arc::clone(deployment),
        ));
    }
    if let Some(u) = rec.usage {
        a.push(KeyValue::new("gen_ai.usage.input_tokens", int(u.prompt)));
        a.push(KeyValue::new(
            "gen_ai.usage.output_tokens",
            int(u.completion),
        ));
        if u.cached > 0 {
            a.push(KeyValue::new(
                "gen_ai.usage.cache_read.input_tokens",
                int(u.cached),
            ));
        }
    }
    a.push(KeyValue::new(
        "http.response.status_code",
        i64::from(rec.status),
    ));
    if rec.is_error() {
        let kind: Value = match &rec.error_code {
            Some(code) => code.to_string().into(),
            None => rec.error_class.as_str().into(),
        };
        a.push(KeyValue::new("error.type", kind));
    }
    if let Some(id) = &rec.upstream_request_id {
        a.push(KeyValue::new("azure.service.request.id", Arc::clone(id)));
    }
    a.push(KeyValue::new(
        "aoai_gateway.request_id",
        Arc::clone(&rec.request_id),
    ));
    a.push(KeyValue::new("aoai_gateway.route", rec.operation));
    if let Some(upstream) = &rec.upstream {
        a.push(KeyValue::new("aoai_gateway.upstream", Arc::clone(upstream)));
    }
    if let Some(key) = &rec.key {
        a.push(KeyValue::new("aoai_gateway.client_key", Arc::clone(key)));
    }
    a.push(KeyValue::new("aoai_gateway.stream", rec.stream));
    if rec.cancelled {
        a.push(KeyValue::new("aoai_gateway.cancelled", true));
    }
    if let Some(ttft) = rec.ttft {
        a.push(KeyValue::new(
            "aoai_gateway.ttft_ms",
            int(u64::try_from(ttft.as_millis()).unwrap_or(u64::MAX)),
        ));
    }
    a
}

/// Exports one finished request as a span (a no-op while export is off).
pub fn export(rec: &Record) {
    let Some(tracer) = TRACER.get() else {
        return;
    };
    let op = operation_name(rec.operation);
    let name = if rec.model.is_empty() {
        op.to_owned()
    } else {
        format!("{op} {}", rec.model)
    };
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(rec.started)
        .with_attributes(attributes(rec))
        .start(tracer);
    if rec.is_error() {
        let description = rec
            .error_code
            .as_deref()
            .unwrap_or(rec.error_class.as_str());
        span.set_status(Status::error(description.to_owned()));
    }
    span.end_with_timestamp(rec.started + rec.latency);
}

type HyperClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The exporter's HTTP client: hyper on a one-thread runtime of its own. The SDK's batch
/// thread awaits each export with a plain executor; the request itself runs here.
#[derive(Debug)]
struct Transport {
    runtime: tokio::runtime::Handle,
    client: HyperClient,
}

impl Transport {
    fn start() -> Result<Self, String> {
        let tls = crate::upstream::client::tls_config().map_err(|e| format!("TLS setup: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("gw-otel".to_owned())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => {
                        let _ = tx.send(Ok(rt.handle().clone()));
                        rt.block_on(std::future::pending::<()>());
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("cannot start the export runtime: {e}")));
                    }
                }
            })
            .map_err(|e| format!("cannot start the export thread: {e}"))?;
        let runtime = rx
            .recv()
            .map_err(|_| "the export thread stopped during startup".to_owned())??;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(EXPORT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(Self { runtime, client })
    }
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let exchange = async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(Request::from_parts(parts, Full::new(body)))
                .await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        let task = self.runtime.spawn(async move {
            tokio::time::timeout(EXPORT_TIMEOUT, exchange)
                .await
                .map_err(|_| HttpError::from("OTLP export timed out"))?
        });
        task.await?
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::stream::Usage;
    use crate::telemetry::ErrorClass;

    fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attrs
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn genai_attributes_of_a_record() {
        let mut rec = Record::new(SystemTime::now(), Arc::from("req-1"), "chat/completions");
        rec.model = Arc::from("gpt-4o");
        rec.deployment = Some(Arc::from("dep-4o"));
        rec.status = 429;
        rec.error_class = ErrorClass::Upstream;
        rec.error_code = Some("rate_limit_exceeded".into());
        rec.usage = Some(Usage {
            prompt: 11,
            completion: 7,
            ..Usage::default()
        });
        let a = attributes(&rec);
        assert_eq!(
            find(&a, "gen_ai.operation.name"),
            Some(&Value::from("chat"))
        );
        assert_eq!(
            find(&a, "gen_ai.request.model"),
            Some(&Value::from("gpt-4o"))
        );
        assert_eq!(
            find(&a, "gen_ai.response.model"),
            Some(&Value::from("dep-4o"))
        );
        assert_eq!(find(&a, "gen_ai.usage.input_tokens"), Some(&Value::I64(11)));
        assert_eq!(find(&a, "gen_ai.usage.output_tokens"), Some(&Value::I64(7)));
        assert_eq!(
            find(&a, "http.response.status_code"),
            Some(&Value::I64(429))
        );
        assert_eq!(
            find(&a, "error.type"),
            Some(&Value::from("rate_limit_exceeded"))
        );
        assert!(find(&a, "gen_ai.usage.cache_read.input_tokens").is_none());
        assert_eq!(operation_name("completions"), "text_completion");
        assert_eq!(operation_name("embeddings"), "embeddings");
        assert_eq!(operation_name("files"), "files");
    }
}
