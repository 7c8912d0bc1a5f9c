//! The benchmark suite: the service and PostgreSQL side by side, on the same
//! machine, with the same durability (acknowledged only after fsync), over
//! real connections on loopback. Run it with `bench/run.sh`, which installs
//! and starts PostgreSQL and writes BENCHMARKS.md.
//!
//! `cargo bench --bench suite -- --pg 'host=127.0.0.1 port=55432 user=postgres' --out BENCHMARKS.md`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use disclosure_ledger::wire::proto::{
    self, event::Payload, google::r#type::Date, ledger_service_client::LedgerServiceClient,
    report_service_client::ReportServiceClient,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::Channel;

#[derive(Debug, Parser)]
struct Args {
    /// libpq connection string of a PostgreSQL server to compare with.
    #[arg(long)]
    pg: Option<String>,
    /// Applications in the report data set (about 1.8 events each).
    #[arg(long, default_value_t = 1_000_000)]
    applications: usize,
    /// Seconds per ingest measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Write the results table here (Markdown).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The exact command that ran the suite, for the record.
    #[arg(long, default_value = "cargo bench --bench suite")]
    command: String,
    /// Only the ingest measurements (section 1): for profiling ingest.
    #[arg(long)]
    only_ingest: bool,
    /// Only these ingest shapes, as CLIENTSxEVENTS (e.g. `--shape 16x100`).
    #[arg(long)]
    shape: Vec<String>,
    /// Load the report data set here and keep it (default: a temporary
    /// directory); for profiling a server on the loaded data.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Cargo passes --bench; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const AGENCIES: usize = 50;
const BIG_SHARE: f64 = 0.2;
const YEAR: i32 = 2023;
const INGEST_SHAPES: [(usize, usize); 4] = [(1, 1), (16, 1), (64, 1), (16, 100)];
/// Applications in each realistic-arrival run (about 2.4 events each).
const ARRIVAL_APPS: usize = 10_000;

/// The real binary serving a directory, as a child process, with auth on
/// as in production: appends carry a writer token, reports an admin token.
struct Server {
    child: Child,
    url: String,
    writer: String,
    admin: String,
    started: Instant,
}

impl Server {
    async fn start(dir: &Path) -> (Self, Duration) {
        let started = Instant::now();
        let bin = env!("CARGO_BIN_EXE_disclosure-ledger");
        let mut child = Command::new(bin)
            .args([
                "--log-format",
                "json",
                "serve",
                "--metrics-listen",
                "off",
                "--rate-limit",
                "0",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(dir)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut sent = false;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if !sent && v["fields"]["message"] == "listening" {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_owned());
                    sent = true;
                }
            }
        });
        let addr = rx.recv().expect("the server says where it listens");
        let url = format!("http://{addr}");
        wait_serving(&url).await;
        let elapsed = started.elapsed();
        // The first start writes the admin token into the data directory.
        let admin = std::fs::read_to_string(dir.join("admin.token")).expect("the admin token").trim().to_owned();
        let channel = Channel::from_shared(url.clone()).unwrap().connect().await.unwrap();
        let mut agencies: Vec<String> = (0..AGENCIES).map(|a| format!("agency-{a:02}")).collect();
        agencies.extend((0..8).map(|c| format!("ingest-{c}")));
        let writer = proto::admin_service_client::AdminServiceClient::new(with_token(channel, &admin))
            .create_token(proto::CreateTokenRequest {
                role: proto::Role::Writer as i32,
                agency_ids: agencies,
                all_agencies: false,
                group_ids: vec![],
                label: "benchmark load generator".into(),
            })
            .await
            .expect("a writer token")
            .into_inner()
            .secret;
        (Self { child, url, writer, admin, started }, elapsed)
    }

    fn rss_mib(&self) -> f64 {
        rss_kib(self.child.id()) as f64 / 1024.0
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone()).unwrap().connect().await.unwrap()
    }

    async fn ledger(&self) -> LedgerServiceClient<Authed> {
        LedgerServiceClient::new(with_token(self.channel().await, &self.writer)).max_decoding_message_size(64 << 20)
    }

    async fn reports(&self) -> ReportServiceClient<Authed> {
        ReportServiceClient::new(with_token(self.channel().await, &self.admin)).max_decoding_message_size(64 << 20)
    }
}

type Authed = tonic::service::interceptor::InterceptedService<Channel, disclosure_ledger::cli::remote::Bearer>;

fn with_token(channel: Channel, token: &str) -> Authed {
    let bearer = disclosure_ledger::access::token::bearer_metadata(token).expect("an ascii token");
    tonic::service::interceptor::InterceptedService::new(
        channel,
        disclosure_ledger::cli::remote::Bearer::new(Some(bearer)),
    )
}

async fn wait_serving(url: &str) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    loop {
        if let Ok(channel) = Channel::from_shared(url.to_owned()).unwrap().connect().await {
            let r = HealthClient::new(channel)
                .check(HealthCheckRequest { service: "disclosure.v1.LedgerService".into() })
                .await;
            if r.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn date(d: chrono::NaiveDate) -> Option<Date> {
    use chrono::Datelike;
    Some(Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

/// One application of the data set.
#[derive(Clone)]
struct App {
    agency: usize,
    subject: String,
    applicant: i32,
    received: chrono::NaiveDate,
    conclusion: Option<(chrono::NaiveDate, i32)>,
    ids: [uuid::Uuid; 2],
}

impl App {
    fn agency_id(&self) -> String {
        format!("agency-{:02}", self.agency)
    }

    fn events(&self) -> Vec<proto::Event> {
        let base = |id: uuid::Uuid, on, payload| proto::Event {
            event_id: id.to_string(),
            agency_id: self.agency_id(),
            subject_id: self.subject.clone(),
            occurred_on: date(on),
            actor: String::new(),
            correlation_id: String::new(),
            payload: Some(payload),
        };
        let mut out = vec![base(
            self.ids[0],
            self.received,
            Payload::ApplicationReceived(proto::ApplicationReceived {
                applicant_category: self.applicant + 1,
                channel: proto::Channel::Online as i32,
            }),
        )];
        if let Some((on, leaf)) = self.conclusion {
            out.push(base(
                self.ids[1],
                on,
                Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: leaf + 1 }),
            ));
        }
        out
    }
}

/// The report data set: `n` applications over 2019-2024 and 50 agencies,
/// one of them holding a fifth; 80% concluded within 45 days.
fn data_set(n: usize) -> Vec<App> {
    let mut rng = StdRng::seed_from_u64(2019);
    let start = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
    let days = (chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap() - start).num_days();
    let big = (n as f64 * BIG_SHARE) as usize;
    // Applicant columns and outcome leaves, weighted like a real agency's
    // (no 4.3/6.1/6.2, which need steps before the conclusion).
    let applicants = [70, 15, 5, 3, 5, 2];
    let leaves = [40, 15, 2, 2, 1, 4, 2, 3, 1, 2, 12, 3, 0, 4, 3, 1, 1, 1, 0, 0, 3];
    let pick = |rng: &mut StdRng, weights: &[u32]| {
        let total: u32 = weights.iter().sum();
        let mut x = rng.random_range(0..total);
        weights
            .iter()
            .position(|w| {
                if x < *w {
                    true
                } else {
                    x -= w;
                    false
                }
            })
            .unwrap() as i32
    };
    (0..n)
        .map(|i| {
            let agency = if i < big { 0 } else { 1 + (i - big) % (AGENCIES - 1) };
            let received = start + chrono::Duration::days(rng.random_range(0..=days));
            let conclusion = rng
                .random_bool(0.8)
                .then(|| (received + chrono::Duration::days(rng.random_range(0..45)), pick(&mut rng, &leaves)));
            App {
                agency,
                subject: format!("A{i:07}"),
                applicant: pick(&mut rng, &applicants),
                received,
                conclusion,
                ids: [
                    uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
                    uuid::Builder::from_random_bytes(rng.random()).into_uuid(),
                ],
            }
        })
        .collect()
}

/// A throughput figure with its latency percentiles.
struct Ingest {
    clients: usize,
    batch: usize,
    events_per_s: f64,
    p50: Duration,
    p99: Duration,
}

fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99))
}

/// `batch` new applications for client `c` of ingest run `run`, from the
/// `n`th on.
fn ingest_events(run: usize, c: usize, n: usize, batch: usize) -> Vec<proto::Event> {
    (0..batch)
        .map(|k| proto::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            agency_id: format!("ingest-{}", c % 8),
            subject_id: format!("r{run}-c{c}-{}", n + k),
            occurred_on: Some(Date { year: 2024, month: 3, day: 1 }),
            actor: String::new(),
            correlation_id: String::new(),
            payload: Some(Payload::ApplicationReceived(proto::ApplicationReceived {
                applicant_category: 1,
                channel: 3,
            })),
        })
        .collect()
}

/// Drives `clients` concurrent appenders of `batch` new applications each,
/// for `seconds`: each client makes one AppendEvents call at a time.
async fn service_ingest(server: &Server, clients: usize, batch: usize, seconds: u64, run: usize) -> Ingest {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = server.ledger().await;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let events = ingest_events(run, c, n, batch);
                let t = Instant::now();
                client.append_events(append_request(events)).await.unwrap();
                lat.push(t.elapsed());
                n += batch;
            }
            (n, lat)
        }));
    }
    collect_ingest(clients, batch, tasks).await
}

/// The same appends over StreamAppendEvents: each client keeps one stream
/// open and sends its next append once the previous one is answered (one
/// in flight, as with calls), so each latency is a durable round trip.
async fn service_stream_ingest(server: &Server, clients: usize, batch: usize, seconds: u64, run: usize) -> Ingest {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut client = server.ledger().await;
        tasks.push(tokio::spawn(async move {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let mut answers = client
                .stream_append_events(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            let mut lat = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let append = append_request(ingest_events(run, c, n, batch));
                let t = Instant::now();
                tx.send(proto::StreamAppendEventsRequest { request_id: n as u64, append: Some(append) }).await.unwrap();
                let answer = answers.message().await.unwrap().expect("an answer");
                assert!(
                    matches!(answer.result, Some(proto::stream_append_events_response::Result::Appended(_))),
                    "{answer:?}"
                );
                lat.push(t.elapsed());
                n += batch;
            }
            (n, lat)
        }));
    }
    collect_ingest(clients, batch, tasks).await
}

/// The same single appends over HTTP/JSON: `POST /v1/events:append` with
/// the proto3 JSON body, one HTTP/1.1 keep-alive connection per client (as
/// a Java web application's HTTP client keeps one).
async fn service_http_ingest(server: &Server, clients: usize, batch: usize, seconds: u64, run: usize) -> Ingest {
    use http_body_util::BodyExt as _;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let url = format!("{}/v1/events:append", server.url);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Full<bytes::Bytes>>();
        let (url, auth) = (url.clone(), format!("Bearer {}", server.writer));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let body = serde_json::to_vec(&append_request(ingest_events(run, c, n, batch))).unwrap();
                let request = http::Request::post(&url)
                    .header("content-type", "application/json")
                    .header("authorization", &auth)
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .unwrap();
                let t = Instant::now();
                let response = client.request(request).await.unwrap();
                let status = response.status();
                let answer = response.into_body().collect().await.unwrap().to_bytes();
                assert!(status.is_success(), "{status}: {}", String::from_utf8_lossy(&answer));
                lat.push(t.elapsed());
                n += batch;
            }
            (n, lat)
        }));
    }
    collect_ingest(clients, batch, tasks).await
}

async fn collect_ingest(
    clients: usize,
    batch: usize,
    tasks: Vec<tokio::task::JoinHandle<(usize, Vec<Duration>)>>,
) -> Ingest {
    let started = Instant::now();
    let mut events = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (n, l) = t.await.unwrap();
        events += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(latencies);
    Ingest { clients, batch, events_per_s: events as f64 / elapsed, p50, p99 }
}

const PG_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    agency_id text NOT NULL,
    subject_id text NOT NULL,
    occurred_on date NOT NULL,
    kind smallint NOT NULL,
    applicant smallint,
    outcome smallint,
    recorded_at timestamptz NOT NULL DEFAULT now()
);";

async fn pg(conn: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(conn, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

/// The same appends into PostgreSQL: one INSERT per event, or one
/// multi-row INSERT per batch, each its own durable transaction.
async fn pg_ingest(conn: &str, clients: usize, batch: usize, seconds: u64, run: usize) -> Ingest {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = pg(conn).await;
        let values: Vec<String> = (0..batch)
            .map(|k| format!("(${}, ${}, ${}, '2024-03-01', 1, 0)", 3 * k + 1, 3 * k + 2, 3 * k + 3))
            .collect();
        let sql = format!(
            "INSERT INTO ingest_events (event_id, agency_id, subject_id, occurred_on, kind, applicant) VALUES {}",
            values.join(", ")
        );
        let statement = client.prepare(&sql).await.unwrap();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0usize;
            while Instant::now() < deadline {
                let ids: Vec<uuid::Uuid> = (0..batch).map(|_| uuid::Uuid::new_v4()).collect();
                let agency = format!("ingest-{}", c % 8);
                let subjects: Vec<String> = (0..batch).map(|k| format!("r{run}-c{c}-{}", n + k)).collect();
                let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
                for k in 0..batch {
                    params.push(&ids[k]);
                    params.push(&agency);
                    params.push(&subjects[k]);
                }
                let t = Instant::now();
                client.execute(&statement, &params).await.unwrap();
                lat.push(t.elapsed());
                n += batch;
            }
            (n, lat)
        }));
    }
    collect_ingest(clients, batch, tasks).await
}

/// Section 三 of one agency and year, by SQL: (new, carried_in, carried_out)
/// and outcome counts, per applicant column.
async fn pg_table(client: &tokio_postgres::Client, agency: &str, year: i32) -> ([[i64; 6]; 3], [[i64; 6]; 21]) {
    let jan1 = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    let dec31 = chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap();
    let rows = client
        .query(
            "WITH r AS (SELECT subject_id, applicant, occurred_on AS received_on FROM events WHERE agency_id = $1 AND kind = 1),
                  c AS (SELECT subject_id, occurred_on AS concluded_on, outcome FROM events WHERE agency_id = $1 AND kind = 2)
             SELECT r.applicant::int,
                    count(*) FILTER (WHERE received_on BETWEEN $2 AND $3),
                    count(*) FILTER (WHERE received_on < $2 AND (concluded_on IS NULL OR concluded_on >= $2)),
                    count(*) FILTER (WHERE received_on <= $3 AND (concluded_on IS NULL OR concluded_on > $3)),
                    c.outcome::int,
                    count(*) FILTER (WHERE concluded_on BETWEEN $2 AND $3)
             FROM r LEFT JOIN c USING (subject_id)
             GROUP BY r.applicant, c.outcome",
            &[&agency, &jan1, &dec31],
        )
        .await
        .unwrap();
    let mut counts = [[0i64; 6]; 3];
    let mut outcomes = [[0i64; 6]; 21];
    for row in rows {
        let col = row.get::<_, i32>(0) as usize;
        for (k, count) in counts.iter_mut().enumerate() {
            count[col] += row.get::<_, i64>(k + 1);
        }
        if let Some(leaf) = row.get::<_, Option<i32>>(4) {
            outcomes[leaf as usize][col] += row.get::<_, i64>(5);
        }
    }
    (counts, outcomes)
}

async fn service_report(client: &mut ReportServiceClient<Authed>, agency: &str, year: i32) -> proto::Report {
    service_period_report(client, agency, year, None).await
}

/// A day: year, month, day.
type Ymd = (i32, i32, i32);

/// The tables of a period other than a year (the days, first and last).
async fn service_period_report(
    client: &mut ReportServiceClient<Authed>,
    agency: &str,
    year: i32,
    days: Option<(Ymd, Ymd)>,
) -> proto::Report {
    let date = |(year, month, day)| Some(proto::google::r#type::Date { year, month, day });
    client
        .get_report(proto::GetReportRequest {
            scope: Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(agency.into())) }),
            year,
            template: proto::Template::Template2021 as i32,
            period: days.map(|(first, last)| proto::ReportPeriod { first_day: date(first), last_day: date(last) }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

/// An append of `events`, with no expected revisions.
/// One step of an application as a case system sends it, in business-date
/// order: its date, the event, and its kind and outcome for PostgreSQL.
struct Step {
    on: chrono::NaiveDate,
    event: proto::Event,
    kind: i16,
    outcome: Option<i16>,
}

/// `apps` applications as case systems record them: a receipt, for one in
/// five a supplement requested and received, and a conclusion, each step on
/// its own day; each client's applications merged into business-date order.
fn arrivals(clients: usize, apps: usize) -> Vec<Vec<Step>> {
    let mut rng = StdRng::seed_from_u64(2026);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let mut per_client: Vec<Vec<Step>> = (0..clients).map(|_| Vec::new()).collect();
    for i in 0..apps {
        let c = i % clients;
        let agency = format!("ingest-{}", c % 8);
        let subject = format!("arrival{clients}-{i}");
        let received = start + chrono::Duration::days(rng.random_range(0..300));
        let step = |on: chrono::NaiveDate, kind: i16, outcome: Option<i16>, payload| Step {
            on,
            event: proto::Event {
                event_id: uuid::Uuid::new_v4().to_string(),
                agency_id: agency.clone(),
                subject_id: subject.clone(),
                occurred_on: date(on),
                actor: String::new(),
                correlation_id: String::new(),
                payload: Some(payload),
            },
            kind,
            outcome,
        };
        let mut steps = vec![step(
            received,
            1,
            None,
            Payload::ApplicationReceived(proto::ApplicationReceived {
                applicant_category: 1 + (i % 6) as i32,
                channel: proto::Channel::Online as i32,
            }),
        )];
        let mut last = received;
        if rng.random_range(0..5) == 0 {
            last = received + chrono::Duration::days(2);
            steps.push(step(last, 2, None, Payload::SupplementRequested(proto::SupplementRequested {})));
            last += chrono::Duration::days(3);
            steps.push(step(last, 3, None, Payload::SupplementReceived(proto::SupplementReceived {})));
        }
        let concluded = last + chrono::Duration::days(rng.random_range(5..25));
        steps.push(step(
            concluded,
            4,
            Some(1),
            Payload::ApplicationConcluded(proto::ApplicationConcluded { outcome: 1 }),
        ));
        per_client[c].extend(steps);
    }
    // Stable: an application's steps on one day keep their order.
    for steps in &mut per_client {
        steps.sort_by_key(|s| s.on);
    }
    per_client
}

/// What one realistic-arrival run measured.
struct Arrival {
    ingest: Ingest,
    events: usize,
    /// The data directory after a clean stop, in bytes.
    footprint: u64,
    /// Bytes the process wrote to disk during the load (`write_bytes`).
    written: u64,
}

/// The realistic arrival into a new store of its own: every step sent as
/// one AppendEvents call, each client waiting for its previous answer.
async fn service_arrival(dir: &Path, clients: usize, apps: usize) -> Arrival {
    let (server, _) = Server::start(dir).await;
    let work = arrivals(clients, apps);
    let events = work.iter().map(Vec::len).sum();
    let before = write_bytes(server.child.id());
    let mut tasks = Vec::new();
    for steps in work {
        let mut client = server.ledger().await;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(steps.len());
            for s in &steps {
                let t = Instant::now();
                client.append_events(append_request(vec![s.event.clone()])).await.unwrap();
                lat.push(t.elapsed());
            }
            (steps.len(), lat)
        }));
    }
    let ingest = collect_ingest(clients, 1, tasks).await;
    let written = write_bytes(server.child.id()) - before;
    server.stop();
    Arrival { ingest, events, footprint: dir_size(dir), written }
}

/// The same steps into PostgreSQL, one INSERT (its own transaction) each;
/// the footprint is the table with its indexes.
async fn pg_arrival(conn: &str, clients: usize, apps: usize) -> (Ingest, u64) {
    let setup = pg(conn).await;
    setup
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS arrival_events; {}",
            PG_SCHEMA.replace("events (", "arrival_events (")
        ))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for steps in arrivals(clients, apps) {
        let client = pg(conn).await;
        let statement = client
            .prepare(
                "INSERT INTO arrival_events (event_id, agency_id, subject_id, occurred_on, kind, applicant, outcome) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6)",
            )
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(steps.len());
            for s in &steps {
                let id = uuid::Uuid::parse_str(&s.event.event_id).unwrap();
                let t = Instant::now();
                client
                    .execute(&statement, &[&id, &s.event.agency_id, &s.event.subject_id, &s.on, &s.kind, &s.outcome])
                    .await
                    .unwrap();
                lat.push(t.elapsed());
            }
            (steps.len(), lat)
        }));
    }
    let ingest = collect_ingest(clients, 1, tasks).await;
    let size: i64 = setup.query_one("SELECT pg_total_relation_size('arrival_events')", &[]).await.unwrap().get(0);
    (ingest, size as u64)
}

/// Bytes a process has caused to be written to storage (`/proc/PID/io`).
fn write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn append_request(events: Vec<proto::Event>) -> proto::AppendEventsRequest {
    proto::AppendEventsRequest { events, expected_revisions: vec![], validate_only: false }
}

/// Restarts the server on `dir`; answers with the time to SERVING and to
/// the first append answered, a retry of `stored` (all duplicates), which
/// needs the complete idempotency index.
async fn restart(dir: &Path, stored: Vec<proto::Event>) -> (Server, Duration, Duration) {
    let (server, to_serving) = Server::start(dir).await;
    let answer =
        server.ledger().await.append_events(append_request(stored)).await.expect("a retry is answered").into_inner();
    let to_append = server.started.elapsed();
    assert!(answer.results.iter().all(|r| r.duplicate), "a retry writes nothing");
    (server, to_serving, to_append)
}

/// Writes dirty pages out and drops the page cache, so that the next start
/// reads the store from the disk; false without the rights to.
fn drop_page_cache() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// How long the server is left idle before its memory is read "at rest".
const REST: Duration = Duration::from_secs(12);

/// The peak resident memory of a process, sampled every 100 ms.
struct PeakRss {
    peak: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    fn start(pid: u32) -> Self {
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let task = {
            let peak = Arc::clone(&peak);
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        Self { peak, task }
    }

    /// The peak so far, in MiB.
    fn stop(self) -> f64 {
        self.task.abort();
        self.peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() { dir_size(&e.path()) } else { m.len() }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut out = String::new();
    let mut say = |line: String| {
        println!("{line}");
        out.push_str(&line);
        out.push('\n');
    };
    let machine = format!(
        "{} cores, {:.1} GiB memory",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<f64>().ok()))
            .unwrap_or(0.0)
            / 1024.0
            / 1024.0
    );
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    say(format!(
        "# Benchmarks\n\nDate: {} · commit `{commit}` · machine: {machine} · command: `{}`\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        args.command
    ));
    say("Durability: every figure is for acknowledgements given only after the data is fsynced (the service: one commit-log write and fdatasync per group commit, sled flushed at background checkpoints; PostgreSQL: fsync=on, synchronous_commit=on, defaults). Clients and server share the same 2 cores over loopback.\n".into());

    // 1. Durable ingest.
    let scratch = tempfile::tempdir().unwrap();
    let (server, _) = Server::start(&scratch.path().join("ingest")).await;
    let pg_conn = args.pg.clone();
    if let Some(conn) = &pg_conn {
        let c = pg(conn).await;
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS ingest_events; {}",
            PG_SCHEMA.replace("events (", "ingest_events (")
        ))
        .await
        .unwrap();
    }
    say("## 1. Durable ingest (new applications, real gRPC / libpq on loopback)\n".into());
    say("Each client sends its next append once the previous one is answered. `call`: one AppendEvents call per append; `stream`: one StreamAppendEvents stream per client, one message per append; `HTTP/JSON`: one `POST /v1/events:append` per append over an HTTP/1.1 keep-alive connection per client, the same durability. PostgreSQL: one INSERT per append, each its own transaction.\n".into());
    say("| clients | events per append | service API | service events/s | p50 | p99 | PostgreSQL events/s | p50 | p99 | service ÷ PostgreSQL |".into());
    say("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|".into());
    let mut ingest_ratios = Vec::new();
    for (run, (clients, batch)) in INGEST_SHAPES.iter().copied().enumerate() {
        if !args.shape.is_empty() && !args.shape.contains(&format!("{clients}x{batch}")) {
            continue;
        }
        let call = service_ingest(&server, clients, batch, args.seconds, 3 * run).await;
        let stream = service_stream_ingest(&server, clients, batch, args.seconds, 3 * run + 1).await;
        // Single events over HTTP/JSON too: the shape most case systems send.
        let http = if batch == 1 {
            Some(service_http_ingest(&server, clients, batch, args.seconds, 3 * run + 2).await)
        } else {
            None
        };
        let p = match &pg_conn {
            Some(conn) => Some(pg_ingest(conn, clients, batch, args.seconds, run).await),
            None => None,
        };
        for (api, s) in [("call", Some(call)), ("stream", Some(stream)), ("HTTP/JSON", http)] {
            let Some(s) = s else { continue };
            let (pg_cells, ratio) = match &p {
                Some(p) => (
                    format!("{:.0} | {} | {}", p.events_per_s, ms(p.p50), ms(p.p99)),
                    format!("{:.2}×", s.events_per_s / p.events_per_s),
                ),
                None => ("- | - | -".into(), "-".into()),
            };
            if let Some(p) = &p {
                ingest_ratios.push((clients, batch, api, s.events_per_s / p.events_per_s));
            }
            say(format!(
                "| {} | {} | {api} | {:.0} | {} | {} | {pg_cells} | {ratio} |",
                s.clients,
                s.batch,
                s.events_per_s,
                ms(s.p50),
                ms(s.p99)
            ));
        }
    }
    server.stop();

    // 1b. Realistic arrival.
    say(format!(
        "\n## 1b. Realistic arrival (one event per call, in business-date order)\n\n{ARRIVAL_APPS} applications as case systems record them: a receipt, for one in five a supplement requested and received, and a conclusion; each client sends its applications' steps in business-date order, one AppendEvents call per event, into a new store of its own; PostgreSQL the same rows, one INSERT each. Footprint: the service's data directory after a clean stop; PostgreSQL's table with its indexes (`pg_total_relation_size`). Written: the service process's `write_bytes` (`/proc/PID/io`) during the load, per event.\n"
    ));
    say("| clients | events | service events/s | p50 | p99 | footprint | written per event | PostgreSQL events/s | p50 | p99 | PostgreSQL footprint | rate ÷ PG | footprint ÷ PG |".into());
    say("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".into());
    for clients in [1usize, 16, 64] {
        if !args.shape.is_empty() && !args.shape.contains(&format!("arrival{clients}")) {
            continue;
        }
        let a = service_arrival(&scratch.path().join(format!("arrival-{clients}")), clients, ARRIVAL_APPS).await;
        let (pg_cells, ratios) = match &pg_conn {
            Some(conn) => {
                let (p, size) = pg_arrival(conn, clients, ARRIVAL_APPS).await;
                (
                    format!("{:.0} | {} | {} | {:.1} MB", p.events_per_s, ms(p.p50), ms(p.p99), size as f64 / 1e6),
                    format!(
                        "{:.2}× | {:.2}×",
                        a.ingest.events_per_s / p.events_per_s,
                        a.footprint as f64 / size as f64
                    ),
                )
            }
            None => ("- | - | - | -".into(), "- | -".into()),
        };
        say(format!(
            "| {clients} | {} | {:.0} | {} | {} | {:.1} MB | {:.0} B | {pg_cells} | {ratios} |",
            a.events,
            a.ingest.events_per_s,
            ms(a.ingest.p50),
            ms(a.ingest.p99),
            a.footprint as f64 / 1e6,
            a.written as f64 / a.events as f64
        ));
    }
    if args.only_ingest {
        if let Some(path) = &args.out {
            std::fs::write(path, &out).unwrap();
        }
        return;
    }

    // 2. The report data set.
    let apps = data_set(args.applications);
    let events: usize = apps.iter().map(|a| 1 + usize::from(a.conclusion.is_some())).sum();
    let big_count = apps.iter().filter(|a| a.agency == 0).count();
    say(format!(
        "\n## 2. Report data set\n\n{} applications, {events} events, {AGENCIES} agencies (agency-00 holds {big_count}), receipts 2019–2024.\n",
        apps.len()
    ));
    let dir = args.keep.clone().unwrap_or_else(|| scratch.path().join("reports"));
    let (server, _) = Server::start(&dir).await;
    let apps = Arc::new(apps);
    let loading = Instant::now();
    let sampler = PeakRss::start(server.child.id());
    const LOADERS: usize = 8;
    let mut tasks = Vec::new();
    for l in 0..LOADERS {
        let apps = Arc::clone(&apps);
        let mut client = server.ledger().await;
        tasks.push(tokio::spawn(async move {
            let mut batch = Vec::new();
            for app in apps.iter().skip(l).step_by(LOADERS) {
                // An application's events stay in one call, which holds at most 1000.
                if batch.len() + 2 > 1000 {
                    let events = std::mem::take(&mut batch);
                    client.append_events(append_request(events)).await.unwrap();
                }
                batch.extend(app.events());
            }
            if !batch.is_empty() {
                client.append_events(append_request(batch)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let load_time = loading.elapsed();
    let peak_load_mib = sampler.stop();
    // At rest: idle long enough for the allocator's background threads to
    // return freed pages (jemalloc's dirty-page decay is 10 s).
    tokio::time::sleep(REST).await;
    let rest_load_mib = server.rss_mib();
    say(format!(
        "Loaded into the service in {:.1} s ({:.0} events/s, 8 clients × 1000 events per call, durable).\n",
        load_time.as_secs_f64(),
        events as f64 / load_time.as_secs_f64()
    ));

    // Report latency.
    let big = "agency-00";
    let small = "agency-17";
    // One connection, as a real client keeps; the first call warms it.
    let mut reports = server.reports().await;
    service_report(&mut reports, small, YEAR).await;
    let mut big_v = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let r = service_report(&mut reports, big, YEAR).await;
        big_v.push(t.elapsed());
        assert!(r.checks_passed);
    }
    let big_ms = median(big_v);
    let mut small_v = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        service_report(&mut reports, small, YEAR).await;
        small_v.push(t.elapsed());
    }
    let small_ms = median(small_v);
    // A quarter and a month read the month tallies; a range of days that
    // is not whole months is counted from a replay of the log.
    let quarter_days = ((YEAR, 7, 1), (YEAR, 9, 30));
    let mut quarter_v = Vec::new();
    let mut month_v = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let q = service_period_report(&mut reports, big, YEAR, Some(quarter_days)).await;
        quarter_v.push(t.elapsed());
        assert!(q.checks_passed);
        let t = Instant::now();
        let m = service_period_report(&mut reports, big, YEAR, Some(((YEAR, 3, 1), (YEAR, 3, 31)))).await;
        month_v.push(t.elapsed());
        assert!(m.checks_passed);
    }
    let mut range_v = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = service_period_report(&mut reports, big, YEAR, Some(((YEAR, 3, 10), (YEAR, 5, 20)))).await;
        range_v.push(t.elapsed());
        assert!(r.checks_passed);
    }
    let (quarter_ms, month_ms, range_ms) = (median(quarter_v), median(month_v), median(range_v));
    let mut drill = Vec::new();
    let mut drill_count = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let page = reports
            .list_cell_applications(proto::ListCellApplicationsRequest {
                agency_id: big.into(),
                year: YEAR,
                row: "1".into(),
                column: 6,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        drill.push(t.elapsed());
        drill_count = page.applications.len();
    }
    let drill_ms = median(drill);
    let service_table = service_report(&mut reports, big, YEAR).await;

    // As of an earlier position: near the head, counted back from it (the
    // subjects moved since are replayed); halfway, from a replay of the log.
    let head = service_table.log_position;
    let scope = || Some(proto::ReportScope { scope: Some(proto::report_scope::Scope::AgencyId(big.into())) });
    let as_of_table = |position: u64| proto::GetReportRequest {
        scope: scope(),
        year: YEAR,
        template: proto::Template::Template2021 as i32,
        as_of_position: position,
        ..Default::default()
    };
    let near = head.saturating_sub(1000);
    let mut as_of_v = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let r = reports.get_report(as_of_table(near)).await.unwrap().into_inner().report.unwrap();
        as_of_v.push(t.elapsed());
        assert!(r.checks_passed && r.log_position == near);
    }
    let mut diff_v = Vec::new();
    let mut changed = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let d = reports
            .diff_report(proto::DiffReportRequest {
                scope: scope(),
                year: YEAR,
                template: proto::Template::Template2021 as i32,
                from_position: near,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        diff_v.push(t.elapsed());
        changed = d.changes.len();
    }
    let mut drill_as_of_v = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        reports
            .list_cell_applications(proto::ListCellApplicationsRequest {
                agency_id: big.into(),
                year: YEAR,
                row: "1".into(),
                column: 6,
                page_size: 1000,
                as_of_position: near,
                ..Default::default()
            })
            .await
            .unwrap();
        drill_as_of_v.push(t.elapsed());
    }
    let halfway = head / 2;
    let mut halfway_v = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = reports.get_report(as_of_table(halfway)).await.unwrap().into_inner().report.unwrap();
        halfway_v.push(t.elapsed());
        assert!(r.checks_passed);
    }
    let (as_of_ms, diff_ms, drill_as_of_ms, halfway_ms) =
        (median(as_of_v), median(diff_v), median(drill_as_of_v), median(halfway_v));

    // 3. Full replay.
    let sampler = PeakRss::start(server.child.id());
    let v = reports.verify_tallies(proto::VerifyTalliesRequest::default()).await.unwrap().into_inner();
    assert!(v.consistent, "{:?}", v.differences);
    let peak_verify_mib = sampler.stop();

    // 4. Footprint.
    tokio::time::sleep(REST).await;
    let rest_verify_mib = server.rss_mib();
    server.stop();
    let size = dir_size(&dir);
    let (server, to_serving, to_append) = restart(&dir, apps[0].events()).await;
    // After the stream filter, built in the background after SERVING, is
    // in memory too.
    tokio::time::sleep(REST).await;
    let restart_mib = server.rss_mib();
    server.stop();
    // Again with the page cache dropped, as after a reboot (needs root).
    let cold = drop_page_cache();
    let (server, cold_serving, cold_append) = restart(&dir, apps[0].events()).await;
    server.stop();
    let cold_cell = |d: Duration| if cold { ms(d) } else { "not measured (needs root)".to_owned() };
    let slowest_start = if cold { to_serving.max(cold_serving) } else { to_serving };

    // 5. PostgreSQL: the same data set, the same table by SQL.
    let mut pg_lines = Vec::new();
    let mut pg_best = None;
    if let Some(conn) = &pg_conn {
        let client = pg(conn).await;
        client.batch_execute(&format!("DROP TABLE IF EXISTS events; {PG_SCHEMA}")).await.unwrap();
        let copying = Instant::now();
        {
            use futures_util::SinkExt;
            let sink = client
                .copy_in("COPY events (event_id, agency_id, subject_id, occurred_on, kind, applicant, outcome) FROM STDIN (FORMAT csv)")
                .await
                .unwrap();
            let mut sink = Box::pin(sink);
            let mut buf = String::new();
            for app in apps.iter() {
                let _ = writeln!(
                    buf,
                    "{},{},{},{},1,{},",
                    app.ids[0],
                    app.agency_id(),
                    app.subject,
                    app.received,
                    app.applicant
                );
                if let Some((on, leaf)) = app.conclusion {
                    let _ = writeln!(buf, "{},{},{},{},2,,{leaf}", app.ids[1], app.agency_id(), app.subject, on);
                }
                if buf.len() > 1 << 20 {
                    sink.send(bytes::Bytes::from(std::mem::take(&mut buf))).await.unwrap();
                }
            }
            sink.send(bytes::Bytes::from(buf)).await.unwrap();
            sink.as_mut().finish().await.unwrap();
        }
        client.batch_execute("ANALYZE events").await.unwrap();
        let copy_time = copying.elapsed();
        let runs = |label: &'static str| {
            let client = &client;
            async move {
                let mut v = Vec::new();
                let mut table = None;
                for _ in 0..5 {
                    let t = Instant::now();
                    table = Some(pg_table(client, big, YEAR).await);
                    v.push(t.elapsed());
                }
                (label, median(v), table.unwrap())
            }
        };
        let (_, without, table) = runs("without").await;
        client
            .batch_execute("CREATE INDEX events_cover ON events (agency_id, kind, subject_id) INCLUDE (occurred_on, applicant, outcome); ANALYZE events")
            .await
            .unwrap();
        let (_, with, table2) = runs("with").await;
        // The SQL table must equal the service's.
        let row = |code: &str| service_table.application_rows.iter().find(|r| r.code == code).unwrap().values.clone();
        let same = |ours: Vec<i64>, theirs: &[i64; 6]| ours[..6] == theirs[..];
        let mut equal = same(row("new"), &table.0[0])
            && same(row("carried_in"), &table.0[1])
            && same(row("carried_out"), &table.0[2]);
        for (leaf, code) in [
            "1", "2", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3",
            "5.4", "5.5", "6.1", "6.2", "6.3",
        ]
        .iter()
        .enumerate()
        {
            equal &= same(row(code), &table.1[leaf]);
        }
        assert!(equal && table == table2, "the SQL table differs from the service's");
        let db_size: i64 = client.query_one("SELECT pg_database_size(current_database())", &[]).await.unwrap().get(0);
        pg_best = Some(with);
        pg_lines.push(format!("| big agency's year table by SQL, covering index | {} |", ms(with)));
        pg_lines.push(format!("| big agency's year table by SQL, no covering index | {} |", ms(without)));
        pg_lines.push(format!(
            "| SQL table equals the service's (agency-00, {YEAR}, every cell) | {} |",
            if equal { "yes" } else { "NO" }
        ));
        pg_lines.push(format!("| COPY of the data set | {:.1} s |", copy_time.as_secs_f64()));
        pg_lines.push(format!("| database size | {:.0} MiB |", db_size as f64 / 1048576.0));
    }

    say("| measure | service |\n|---|---:|".to_string());
    say(format!("| section 三 + 四, big agency (agency-00), {YEAR}, median of 21 | {} |", ms(big_ms)));
    say(format!("| section 三 + 四, small agency ({small}), {YEAR}, median of 21 | {} |", ms(small_ms)));
    say(format!("| section 三 + 四, big agency, {YEAR}-Q3 (three month tallies), median of 21 | {} |", ms(quarter_ms)));
    say(format!("| section 三 + 四, big agency, {YEAR}-03 (one month tally), median of 21 | {} |", ms(month_ms)));
    say(format!(
        "| section 三 + 四, big agency, {YEAR}-03-10..{YEAR}-05-20 (not whole months: from a replay), median of 5 | {} |",
        ms(range_ms)
    ));
    say(format!(
        "| drill-down of cell 1 (予以公开) × 总计, big agency, {drill_count} applications, median of 5 | {} |",
        ms(drill_ms)
    ));
    say(format!(
        "| section 三 + 四, big agency, {YEAR}, as of the head minus 1,000 (position {near}; counted back from the head), median of 21 | {} |",
        ms(as_of_ms)
    ));
    say(format!(
        "| diff of that table from the head minus 1,000 to now ({changed} cells changed), median of 21 | {} |",
        ms(diff_ms)
    ));
    say(format!("| drill-down of cell 1 × 总计 as of the head minus 1,000, median of 5 | {} |", ms(drill_as_of_ms)));
    say(format!(
        "| section 三 + 四, big agency, {YEAR}, as of halfway (position {halfway}; replayed from the start), median of 3 | {} |",
        ms(halfway_ms)
    ));
    say(format!(
        "| full replay (`verify`): {} events, {} subjects | {:.2} s = {:.0} events/s |",
        v.events_replayed,
        v.subjects,
        v.seconds,
        v.events_replayed as f64 / v.seconds
    ));
    say(format!("| data directory after the load | {:.0} MiB |", size as f64 / 1048576.0));
    say(format!(
        "| server resident memory: peak during the load / at rest after it | {peak_load_mib:.0} / {rest_load_mib:.0} MiB |"
    ));
    say(format!(
        "| server resident memory: peak during `verify` / at rest after it | {peak_verify_mib:.0} / {rest_verify_mib:.0} MiB |"
    ));
    say(format!("| server resident memory after a restart on the loaded directory | {restart_mib:.0} MiB |"));
    say(format!(
        "| start to SERVING on the loaded directory, warm / cold page cache | {} / {} |",
        ms(to_serving),
        cold_cell(cold_serving)
    ));
    say(format!(
        "| start to the first append answered (a retry: needs the idempotency index, read after SERVING), warm / cold | {} / {} |",
        ms(to_append),
        cold_cell(cold_append)
    ));
    if !pg_lines.is_empty() {
        say("\n## PostgreSQL on the same data set\n\n| measure | PostgreSQL |\n|---|---:|".into());
        for l in pg_lines {
            say(l);
        }
    }
    say("\n## Ratios and targets\n\n| target | measured | met |\n|---|---|---|".into());
    for (clients, batch, api, r) in &ingest_ratios {
        let goal = match (clients, batch) {
            (64, 1) => Some(3.0),
            (16, 100) => Some(1.0),
            _ => None,
        };
        if let Some(goal) = goal {
            say(format!(
                "| ingest {clients} clients × {batch} ({api}): ≥ {goal}× PostgreSQL | {r:.2}× | {} |",
                if *r >= goal { "yes" } else { "no" }
            ));
        }
    }
    say(format!(
        "| big agency's table < 10 ms | {} | {} |",
        ms(big_ms),
        if big_ms < Duration::from_millis(10) { "yes" } else { "no" }
    ));
    if let Some(best) = pg_best {
        let r = best.as_secs_f64() / big_ms.as_secs_f64();
        say(format!(
            "| big agency's table ≥ 30× faster than PostgreSQL's best | {r:.0}× | {} |",
            if r >= 30.0 { "yes" } else { "no" }
        ));
    }
    let replay_rate = v.events_replayed as f64 / v.seconds;
    say(format!(
        "| full replay ≥ 1,000,000 events/s | {replay_rate:.0} | {} |",
        if replay_rate >= 1e6 { "yes" } else { "no" }
    ));
    say(format!(
        "| resident memory < 300 MB with the data set loaded (peak during the load, at rest, after a restart) | {peak_load_mib:.0} / {rest_load_mib:.0} / {restart_mib:.0} MiB; `verify` peaks at {peak_verify_mib:.0} | {} |",
        if peak_load_mib.max(rest_load_mib).max(restart_mib) * 1.048576 < 300.0 { "yes" } else { "no" }
    ));
    say(format!(
        "| start to SERVING < 2 s (warm / cold page cache) | {} / {} | {} |",
        ms(to_serving),
        cold_cell(cold_serving),
        if slowest_start < Duration::from_secs(2) { "yes" } else { "no" }
    ));

    if let Some(path) = &args.out {
        std::fs::write(path, out).expect("write the results");
    }
}
