//! Traces that leave the process. With `CAREERGRAPH_OTLP_ENDPOINT` set, the spans of every
//! request (the HTTP request, each GraphQL operation, each root field, each SQL statement) are
//! exported to that OpenTelemetry collector over OTLP/HTTP, in the trace a caller's W3C
//! `traceparent` names. Off by default: then nothing here costs more than a flag read.
//!
//! Spans carry names and ids only: an operation's type and name, a field's type and name, a
//! statement's parameterised SQL (its values are bound, never in the text). Never variables,
//! tokens or the query string.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use anyhow::Context as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The name the spans' tracer and service go by.
const SERVICE: &str = "careergraph";

/// Statement text longer than this is cut: a span is for finding the statement, not storing it.
const MAX_STATEMENT_TEXT: usize = 4096;

/// Whether spans are exported: read on every statement, so a flag rather than a lookup.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// The tracer statement spans are made with, kept rather than looked up through the global
/// provider on every statement.
static STATEMENT_TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// The exporter of a running process: flushes what it holds when shut down.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts exporting to the collector at `endpoint` (its OTLP/HTTP base URL, such as
    /// `http://127.0.0.1:4318`; spans go to its `/v1/traces`), and continues the traces callers
    /// name in `traceparent`. Spans are sent in batches from a thread of the exporter's own.
    pub fn start(endpoint: &url::Url) -> anyhow::Result<Self> {
        let endpoint = endpoint.as_str().trim_end_matches('/');
        let endpoint =
            if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .context("cannot start the OTLP exporter")?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(SERVICE).build())
            .build();
        global::set_tracer_provider(provider.clone());
        let _ = STATEMENT_TRACER.set(provider.tracer(SERVICE));
        global::set_text_map_propagator(TraceContextPropagator::new());
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Self { provider })
    }

    /// The tracer `tracing`'s spans are exported with.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer(SERVICE)
    }

    /// Sends what is still buffered and stops.
    pub fn shutdown(self) {
        EXPORTING.store(false, Ordering::Relaxed);
        if let Err(error) = self.provider.shutdown() {
            eprintln!("careergraph: cannot flush the last traces: {error}");
        }
    }
}

/// Names `span`, the span of one HTTP request, as a collector shows it, and makes it a child of
/// the span the caller's `traceparent` header names, if any. Logs do not show these fields.
pub fn continue_trace<B>(span: &tracing::Span, request: &axum::http::Request<B>) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    name_span(span, || format!("{} {}", request.method(), request.uri().path()));
    span.record("otel.kind", "server");
    let headers = opentelemetry_http::HeaderExtractor(request.headers());
    let parent = global::get_text_map_propagator(|propagator| propagator.extract(&headers));
    if parent.span().span_context().is_valid() {
        // Fails only when the span was never given to the OpenTelemetry layer.
        let _ = span.set_parent(parent);
    }
}

/// Gives `span` the name a collector shows, made by `name` only when spans are exported: a log
/// line has the span's own fields, and formatting a name nobody reads costs on every operation.
pub fn name_span(span: &tracing::Span, name: impl FnOnce() -> String) {
    if EXPORTING.load(Ordering::Relaxed) {
        span.record("otel.name", name());
    }
}

/// Exports one SQL statement that has just run as a span of its own, under the span it ran in:
/// called by the database's statement hook, which knows its text and how long it took.
pub fn statement(info: &sea_orm::metric::Info<'_>) {
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    let Some(tracer) = STATEMENT_TRACER.get() else { return };
    let end = SystemTime::now();
    let start = end.checked_sub(info.elapsed).unwrap_or(end);
    let sql = info.statement.sql.as_str();
    let verb = sql.split_whitespace().next().unwrap_or("SQL").to_ascii_uppercase();
    let text = match sql.char_indices().nth(MAX_STATEMENT_TEXT) {
        Some((cut, _)) => &sql[..cut],
        None => sql,
    };
    let system = match info.statement.db_backend {
        sea_orm::DatabaseBackend::Postgres => "postgresql",
        sea_orm::DatabaseBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let parent = tracing::Span::current().context();
    let mut span = tracer
        .span_builder(verb)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([KeyValue::new("db.system.name", system), KeyValue::new("db.query.text", text.to_owned())])
        .start_with_context(tracer, &parent);
    if info.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}
