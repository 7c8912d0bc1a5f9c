//! Prometheus metrics, served over HTTP on their own port (`/metrics`), so
//! that scraping needs no gRPC and no token.
//!
//! Counters and histograms are recorded where things happen (the writer,
//! the RPC layer below); the gauges that need a scan of the store (open
//! and overdue applications) are refreshed by a background task.

use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::deadline::calendar::CalendarCell;
use crate::deadline::statutory::{self as deadline, Standing};
use crate::domain::application::Status as AppStatus;
use crate::domain::date::CivilDate;
use crate::store::ledger::OpeningLedger;

/// The process-wide recorder (the `metrics` facade has one global
/// recorder; tests run several servers in one process and share it).
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let latency = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
        let sizes = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0, 20000.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("seconds".into()), &latency)
            .and_then(|b| {
                b.set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("events".into()), &sizes)
            })
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed; then ours just
        // renders nothing, which a test would notice.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("disclosure_appended_events_total", "Events appended (durable, not counting retries)");
    describe_counter!("disclosure_duplicate_events_total", "Retried events answered from the log");
    describe_histogram!("disclosure_group_events", "Events per group commit (one fsync each)");
    describe_histogram!("disclosure_commit_seconds", Unit::Seconds, "apply + flush + fdatasync of one group");
    describe_histogram!(
        "disclosure_rpc_seconds",
        Unit::Seconds,
        "RPC latency by method, gRPC status and protocol (grpc, including gRPC-Web; http for HTTP/JSON)"
    );
    describe_gauge!("disclosure_log_head_position", "The last durable log position");
    describe_gauge!("disclosure_store_bytes", Unit::Bytes, "Size of the sled store on disk");
    describe_gauge!("disclosure_open_applications", "Applications received and not concluded");
    describe_gauge!("disclosure_overdue_applications", "Open applications past their statutory deadline");
}

/// Starts recording (idempotent).
pub fn install() {
    handle();
}

/// A bound metrics endpoint.
pub struct Endpoint {
    listener: TcpListener,
}

impl Endpoint {
    pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        install();
        let listener = TcpListener::bind(addr).await?;
        Ok(Self { listener })
    }

    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves `/metrics` until `stop`.
    pub async fn serve(self, stop: CancellationToken) {
        let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { handle().render() }));
        if let Err(e) = axum::serve(self.listener, app).with_graceful_shutdown(stop.cancelled_owned()).await {
            tracing::error!(error = %e, "the metrics endpoint failed");
        }
    }
}

/// Refreshes the gauges that need a scan every `every`, until `stop`.
pub async fn refresh_gauges(ledger: OpeningLedger, calendar: CalendarCell, every: Duration, stop: CancellationToken) {
    loop {
        if let Some(l) = ledger.opened() {
            let calendar = calendar.current();
            let scanned = tokio::task::spawn_blocking(move || {
                let store = l.store();
                metrics::gauge!("disclosure_log_head_position").set(l.head() as f64);
                metrics::gauge!("disclosure_store_bytes").set(store.size_on_disk().unwrap_or(0) as f64);
                let today = CivilDate::today_in_china();
                let (mut open, mut overdue) = (0u64, 0u64);
                for item in store.all_subjects() {
                    let Ok((_, record)) = item else { continue };
                    let Some(app) = record.application().filter(|a| a.status() == AppStatus::Open) else {
                        continue;
                    };
                    open += 1;
                    let late =
                        deadline::deadline(app, &calendar, today, 0).is_ok_and(|d| d.standing == Standing::Overdue);
                    overdue += u64::from(late);
                }
                metrics::gauge!("disclosure_open_applications").set(open as f64);
                metrics::gauge!("disclosure_overdue_applications").set(overdue as f64);
            })
            .await;
            if let Err(e) = scanned {
                tracing::error!(error = %e, "refreshing the gauges failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// A tower layer that times every gRPC call by method and status
/// (`protocol="grpc"`; the HTTP/JSON face's are `protocol="http"`).
#[derive(Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<MeteredBody<R>>;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // "/disclosure.v1.LedgerService/AppendEvents" -> "LedgerService/AppendEvents"
        let path = request.uri().path();
        let method = path.rsplit('/').take(2).collect::<Vec<_>>();
        let method = match method.as_slice() {
            [m, s] => format!("{}/{m}", s.rsplit('.').next().unwrap_or(s)),
            _ => path.to_owned(),
        };
        // gRPC (and gRPC-Web, translated before this layer) only: the
        // HTTP/JSON face records its calls itself, by RPC, not by path.
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
        let mut meter = Meter { method: grpc.then_some(method), started: Instant::now() };
        let future = self.inner.call(request);
        Box::pin(async move {
            match future.await {
                Ok(response) => {
                    // A refusal is a trailers-only response: its status is
                    // in the headers. Otherwise the status comes in the
                    // trailers, after the last message (for a stream, when
                    // it ends), and the body records it then.
                    if let Some(code) = grpc_status(response.headers()) {
                        meter.record(code);
                    }
                    Ok(response.map(|inner| MeteredBody { inner, meter }))
                }
                Err(e) => {
                    meter.record(tonic::Code::Unknown);
                    Err(e)
                }
            }
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    Some(tonic::Code::from_i32(code))
}

/// Records one call once: with the status it ended with, or as cancelled
/// if its response was dropped before it ended (the client went away).
struct Meter {
    /// `None` once recorded.
    method: Option<String>,
    started: Instant,
}

impl Meter {
    fn record(&mut self, code: tonic::Code) {
        if let Some(method) = self.method.take() {
            metrics::histogram!("disclosure_rpc_seconds", "method" => method, "code" => format!("{code:?}"), "protocol" => "grpc")
                .record(self.started.elapsed().as_secs_f64());
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.record(tonic::Code::Cancelled);
    }
}

pin_project_lite::pin_project! {
    /// A response body that records its call's status from the trailers.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        meter: Meter,
    }
}

impl<B: http_body::Body> http_body::Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.meter.record(grpc_status(trailers).unwrap_or(tonic::Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(_))) => this.meter.record(tonic::Code::Unknown),
            // Ended without trailers: nothing says it failed.
            Poll::Ready(None) => this.meter.record(tonic::Code::Ok),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
