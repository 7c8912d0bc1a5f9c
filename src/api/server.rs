//! The running server: binds the port, serves health, reflection and the
//! ledger, opens the store in the background (health says NOT_SERVING until
//! it is open and recovered), and drains gracefully on shutdown.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;

use crate::access::gate::Gate;
use crate::access::role::{Role, Scope};
use crate::access::token::{OpeningTokens, Token, Tokens};
use crate::api::admin_service::AdminService;
use crate::api::config::Config;
use crate::api::connections::incoming;
use crate::api::console::Console;
use crate::api::deadline_service::DeadlineService;
use crate::api::http::HttpApi;
use crate::api::ledger_service::LedgerService;
use crate::api::report_service::ReportService;
use crate::deadline::calendar::{Calendar, CalendarCell};
use crate::ops::metrics::{Endpoint, RpcMetricsLayer};
use crate::store::ledger::{Ledger, OpeningLedger};
use crate::wire::proto::admin_service_server::AdminServiceServer;
use crate::wire::proto::deadline_service_server::DeadlineServiceServer;
use crate::wire::proto::{
    self, ledger_service_server::LedgerServiceServer, report_service_server::ReportServiceServer,
};

/// A bound, not yet serving, server.
pub struct Server {
    config: Config,
    listener: TcpListener,
    calendar: CalendarCell,
    /// TLS, terminated by the server itself (see [`crate::api::connections`]).
    tls: Option<tokio_rustls::TlsAcceptor>,
    metrics: Option<Endpoint>,
}

impl Server {
    /// Binds the listen address (port 0 picks a free one).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut calendar = Calendar::builtin();
        if let Some(path) = &config.calendar {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            calendar.merge(Calendar::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
        }
        if config.tls.is_none() && !config.listen.ip().is_loopback() && !config.allow_plaintext {
            anyhow::bail!(
                "refusing to serve plaintext on {}, which is not a loopback address: give --tls-cert and --tls-key, \
                 or --allow-plaintext if something in front terminates TLS",
                config.listen
            );
        }
        let tls = config
            .tls
            .as_ref()
            .map(|t| crate::api::connections::tls_acceptor(&t.cert, &t.key, t.client_ca.as_deref()))
            .transpose()
            .context("invalid TLS configuration")?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(Endpoint::bind(addr).await.with_context(|| format!("cannot serve metrics on {addr}"))?),
            None => None,
        };
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self { config, listener, calendar: CalendarCell::new(calendar), tls, metrics })
    }

    /// Where metrics are served, if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(Endpoint::local_addr)
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until SIGINT or SIGTERM, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes: then health turns NOT_SERVING, live
    /// subscriptions end, new connections are refused, in-flight RPCs
    /// finish, the writer commits what it was given, and the store syncs.
    pub async fn run_until(mut self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        set_health(&health, tonic_health::ServingStatus::NotServing).await;

        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let cell = OpeningLedger::default();
        let tokens = OpeningTokens::default();
        let draining = CancellationToken::new();
        let gate = Gate::new(tokens.clone(), self.config.auth, self.config.rate_limit);
        if !self.config.auth {
            tracing::warn!(
                addr = %self.local_addr(),
                "AUTHENTICATION IS OFF (--no-auth): anyone who can reach this port can read and write every agency's log"
            );
        }
        let stopped = CancellationToken::new();
        if let Some(metrics) = self.metrics.take() {
            tracing::info!(addr = %metrics.local_addr(), "metrics on /metrics");
            tokio::spawn(metrics.serve(stopped.clone()));
        } else {
            crate::ops::metrics::install();
        }
        tokio::spawn(crate::ops::metrics::refresh_gauges(
            cell.clone(),
            self.calendar.clone(),
            GAUGE_REFRESH,
            stopped.clone(),
        ));
        let service = LedgerService::new(cell.clone(), self.calendar.clone(), draining.clone());
        let reports = ReportService::new(cell.clone(), self.calendar.clone());
        let deadlines = DeadlineService::new(cell.clone(), self.calendar.clone());
        let admin = AdminService::new(cell.clone(), tokens.clone(), self.calendar.clone());
        tracing::info!(years = %self.calendar.current().known(), "working-day calendar");

        // Open (and recover) the store while already answering health.
        let opener = {
            let cell = cell.clone();
            let tokens = tokens.clone();
            let health = health.clone();
            let draining = draining.clone();
            let config = self.config.clone();
            let calendar = self.calendar.clone();
            tokio::spawn(async move {
                let opening = config.clone();
                let opened = tokio::task::spawn_blocking(move || {
                    let ledger = Ledger::open(&opening.data_dir, opening.cache_capacity)?;
                    let loaded = Tokens::load(ledger.store())?;
                    if opening.auth {
                        first_admin_token(&loaded, &ledger, &opening)?;
                    }
                    // Schedules an admin added since the release, newest last.
                    for text in ledger.store().calendars()? {
                        calendar.merge(Calendar::parse(&text).map_err(|e| anyhow::anyhow!("a stored calendar: {e}"))?);
                    }
                    anyhow::Ok((ledger, loaded))
                })
                .await;
                match opened {
                    Ok(Ok((ledger, loaded))) => {
                        tracing::info!(head = ledger.head(), dir = %config.data_dir.display(), "store open");
                        tokens.set(loaded);
                        let store = std::sync::Arc::clone(ledger.store());
                        let mut failure = ledger.failure();
                        watch_for_failure(ledger.failure());
                        cell.set(ledger);
                        tokio::task::spawn_blocking(move || warn_of_legacy_ids(&store));
                        if !draining.is_cancelled() {
                            set_health(&health, tonic_health::ServingStatus::Serving).await;
                        }
                        // A failed write or sync: NOT_SERVING at once, then
                        // stop with an error, so that the supervisor restarts
                        // the service and recovery reads what the disk holds.
                        if failure.wait_for(Option::is_some).await.is_ok() {
                            let why = failure.borrow().clone().unwrap_or_default();
                            set_health(&health, tonic_health::ServingStatus::NotServing).await;
                            return Err(anyhow::anyhow!("{why}"));
                        }
                        Ok(())
                    }
                    Ok(Err(e)) => Err(anyhow::anyhow!("cannot open the store in {}: {e}", config.data_dir.display())),
                    Err(e) => Err(anyhow::anyhow!("opening the store panicked: {e}")),
                }
            })
        };

        tracing::info!(addr = %self.local_addr(), "listening");
        let drain = {
            let health = health.clone();
            let draining = draining.clone();
            async move {
                stop.await;
                tracing::info!("draining: refusing new connections, finishing in-flight requests");
                set_health(&health, tonic_health::ServingStatus::NotServing).await;
                draining.cancel();
            }
        };
        // If the store cannot open there is nothing to serve: stop at once.
        let open_failed = CancellationToken::new();
        let max = self.config.max_message_bytes;
        let builder = tonic::transport::Server::builder();
        let (idle, keepalive) = (self.config.idle_timeout, self.config.keepalive);
        if keepalive >= idle {
            tracing::warn!(
                ?idle,
                ?keepalive,
                "the keepalive interval is not below the idle timeout: live but quiet clients will be closed as idle"
            );
        }
        // The gRPC services; the HTTP/JSON face calls the same ones, in
        // process, through the same gate.
        let grpc = tonic::service::Routes::new(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(InterceptedService::new(
                LedgerServiceServer::new(service).max_decoding_message_size(max),
                gate.clone(),
            ))
            .add_service(InterceptedService::new(
                ReportServiceServer::new(reports).max_decoding_message_size(max),
                gate.clone(),
            ))
            .add_service(InterceptedService::new(
                DeadlineServiceServer::new(deadlines).max_decoding_message_size(max),
                gate.clone(),
            ))
            .add_service(InterceptedService::new(AdminServiceServer::new(admin).max_decoding_message_size(max), gate));
        let http = HttpApi::new(grpc.clone(), max).map_err(|e| anyhow::anyhow!("the HTTP routes: {e}"))?;
        let console = Console::new(grpc.clone(), tokens.clone(), self.config.auth, self.tls.is_some());
        // gRPC-Web only before the gRPC services: it refuses any other
        // HTTP/1.1 request, which the HTTP/JSON face must get.
        let grpc_web = grpc.into_axum_router().layer(tonic_web::GrpcWebLayer::new());
        let routes = tonic::service::Routes::from(grpc_web.merge(http.router()).merge(console.router()));
        let cors = cors_layer(&self.config.cors_origins)?;
        let served = builder
            // HTTP/1.1 too: gRPC-Web and HTTP/JSON clients, behind proxies
            // that pass only HTTP/1.1.
            .accept_http1(true)
            // Bounds what one client connection can have in flight.
            .concurrency_limit_per_connection(256)
            .http2_keepalive_interval(Some(keepalive))
            .http2_keepalive_timeout(Some(keepalive))
            .layer(tower::ServiceBuilder::new().layer(RpcMetricsLayer).option_layer(cors))
            .add_routes(routes)
            // No Nagle (set per connection): small responses (a report, an
            // append's answer) must not wait for the client's delayed ACK.
            .serve_with_incoming_shutdown(
                incoming(self.listener, self.config.max_connections, idle, self.tls.take()),
                {
                    let open_failed = open_failed.clone();
                    async move {
                        tokio::select! {
                            () = drain => {}
                            () = open_failed.cancelled() => {}
                        }
                    }
                },
            );
        tokio::pin!(served);
        let drain_deadline = {
            let draining = draining.clone();
            let timeout = self.config.drain_timeout;
            async move {
                draining.cancelled().await;
                tokio::time::sleep(timeout).await;
            }
        };
        tokio::pin!(drain_deadline);
        let mut opener = opener;
        let mut open_result = None;
        let served = loop {
            tokio::select! {
                result = &mut served => break result,
                () = &mut drain_deadline => {
                    // Dropping the server closes what is still open; the
                    // writer still commits every batch it was given.
                    tracing::warn!(timeout = ?self.config.drain_timeout, "drain timed out; closing the remaining connections");
                    break Ok(());
                }
                result = &mut opener, if open_result.is_none() => {
                    let result = result.map_err(anyhow::Error::from).and_then(|r| r);
                    let failed = result.is_err();
                    open_result = Some(result);
                    if failed {
                        // Nothing can be served from a store that did not
                        // open or stopped writing: stop taking requests, let
                        // the refusals already given reach their callers,
                        // and stop without waiting for a full drain.
                        open_failed.cancel();
                        draining.cancel();
                        let _ = tokio::time::timeout(FAILED_DRAIN, &mut served).await;
                        break Ok(());
                    }
                }
            }
        };
        stopped.cancel();
        served.context("the gRPC server failed")?;
        if let Some(Err(e)) = open_result {
            return Err(e);
        }
        if let Some(ledger) = cell.opened() {
            tokio::task::spawn_blocking(move || ledger.close()).await?;
        }
        tracing::info!("stopped; every acknowledged event is on disk");
        Ok(())
    }
}

/// CORS for browser pages on the allowed origins (gRPC-Web and HTTP/JSON
/// calls from them); none allowed: no layer, and browsers refuse every
/// cross-origin call as they do by default.
fn cors_layer(origins: &[String]) -> anyhow::Result<Option<tower_http::cors::CorsLayer>> {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let allowed = origins
        .iter()
        .map(|o| {
            let o = o.trim().trim_end_matches('/');
            let host = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.contains('/')) {
                anyhow::bail!("--cors-origin {o:?} is not an origin (scheme://host[:port])");
            }
            http::HeaderValue::from_str(o).map_err(|e| anyhow::anyhow!("--cors-origin {o:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let grpc = |names: &[&'static str]| names.iter().map(|n| HeaderName::from_static(n)).collect::<Vec<_>>();
    let mut allow_headers = vec![AUTHORIZATION, CONTENT_TYPE];
    allow_headers.extend(grpc(&["x-grpc-web", "x-user-agent", "grpc-timeout"]));
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([http::Method::GET, http::Method::POST, http::Method::PUT, http::Method::DELETE])
            .allow_headers(allow_headers)
            .expose_headers(grpc(&["grpc-status", "grpc-message", "grpc-status-details-bin"]))
            .max_age(std::time::Duration::from_secs(600)),
    ))
}

/// Sets every service's health, and the server's, to `status`.
async fn set_health(health: &tonic_health::server::HealthReporter, status: tonic_health::ServingStatus) {
    use tonic::server::NamedService;
    health.set_service_status(<LedgerServiceServer<LedgerService> as NamedService>::NAME, status).await;
    health.set_service_status(<ReportServiceServer<ReportService> as NamedService>::NAME, status).await;
    health.set_service_status(<DeadlineServiceServer<DeadlineService> as NamedService>::NAME, status).await;
    health.set_service_status("", status).await;
}

/// The last resort after a failed write: if the service has not stopped
/// by itself a few seconds after its store failed (a runtime stuck behind
/// a store that no longer answers), the process ends here, with status 1.
fn watch_for_failure(failure: tokio::sync::watch::Receiver<Option<String>>) {
    let watchdog = move || {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            if let Some(why) = failure.borrow().clone() {
                std::thread::sleep(FAILED_DRAIN + std::time::Duration::from_secs(3));
                eprintln!("error: {why} (the service did not stop by itself; stopping it now)");
                std::process::exit(1);
            }
            // The writer ended normally: nothing more to watch.
            if failure.has_changed().is_err() {
                return;
            }
        }
    };
    if let Err(e) = std::thread::Builder::new().name("failure-watchdog".into()).spawn(watchdog) {
        tracing::warn!(error = %e, "cannot start the failure watchdog");
    }
}

/// How long a service whose store failed waits for the answers already
/// given to reach their callers before it exits.
const FAILED_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the gauges that need a scan of every stored subject (open and
/// overdue applications) are refreshed: a few seconds of one core for a
/// million subjects, so not more often.
const GAUGE_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// Reads the certificate files.
/// With auth on and no token at all (a new store), creates an admin token
/// and writes it, readable by the owner only, to the admin token file: the
/// way in for the first `token create`.
fn first_admin_token(tokens: &Tokens, ledger: &Ledger, config: &Config) -> anyhow::Result<()> {
    if !tokens.is_empty() {
        return Ok(());
    }
    let path = config.admin_token_file.clone().unwrap_or_else(|| config.data_dir.join("admin.token"));
    let (token, secret) = Token::issue(Role::Admin, Scope::default(), "first admin token".into());
    let id = token.id.clone();
    write_secret(&path, &secret)
        .with_context(|| format!("cannot write the first admin token to {}", path.display()))?;
    tokens.put(ledger.store(), token)?;
    tracing::warn!(
        token = %id,
        file = %path.display(),
        "created the first admin token; keep it somewhere safe and delete the file"
    );
    Ok(())
}

/// Logs the subjects stored under ids that are not canonical (written before
/// ids were NFKC-normalised): they are kept and counted as they are, and
/// are read by listing and by the log, while a request names an id in its
/// canonical form. In the background: it reads every subject.
fn warn_of_legacy_ids(store: &crate::store::database::Store) {
    let mut found = Vec::new();
    for item in store.all_subjects() {
        let Ok((stream, _)) = item else { return };
        let canonical = crate::domain::ids::SubjectId::parse(stream.subject.as_str());
        let agency = crate::domain::ids::AgencyId::parse(stream.agency.as_str());
        if canonical.as_ref() != Ok(&stream.subject) || agency.as_ref() != Ok(&stream.agency) {
            found.push(stream.to_string());
        }
    }
    if !found.is_empty() {
        tracing::warn!(
            count = found.len(),
            first = ?found.iter().take(10).collect::<Vec<_>>(),
            "subjects stored under ids that are not canonical (written before ids were NFKC-normalised); they \
             keep counting as they are, but requests name ids in canonical form, so events for them under the \
             same id are refused or start a new subject"
        );
    }
}

/// Writes a secret to a new file only its owner can read.
pub fn write_secret(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = crate::ops::backup::private_file(path)?;
    writeln!(f, "{secret}")?;
    f.sync_all()
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
