//! `bench`: measures durable ingest over real gRPC on loopback.
//!
//! Starts the server in this process on a fresh store in a temporary
//! directory, then drives it with N concurrent tonic clients, each sending
//! batches of B new applications and waiting for the durable acknowledgement
//! (flush + fdatasync per group commit) before sending the next.
//!
//! `cargo run --release --bin bench -- --clients 64 --batch 1 --seconds 10`

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use clap::Parser;
use disclosure_ledger::config::Config;
use disclosure_ledger::proto::{self, event::Payload, ledger_service_client::LedgerServiceClient};
use disclosure_ledger::server::Server;

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent clients (each its own connection).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Events per AppendEvents call.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// How long to drive the load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("disclosure-bench-{}", std::process::id()));
    let mut config = Config::for_tests(&dir);
    config.cache_capacity = Config::DEFAULT_CACHE_MIB << 20;
    let server = Server::build(config).await?;
    let url = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    let mut warm = loop {
        match LedgerServiceClient::connect(url.clone()).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    // Wait until the store is open.
    while warm.append_events(request(u64::MAX, 0, 1)).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let url = url.clone();
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let mut client = LedgerServiceClient::connect(url).await.expect("connect");
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                client.append_events(request(c as u64, n, batch)).await.expect("append");
                latencies.push(started.elapsed());
                n += batch as u64;
            }
            (n, latencies)
        }));
    }
    let started = Instant::now();
    let mut events = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (n, l) = t.await?;
        events += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "durable ingest (ack after flush + fdatasync, group commit): clients={} batch={} events={} seconds={:.1} events/s={:.0} p50={:?} p99={:?}",
        args.clients,
        args.batch,
        events,
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
    );
    let _ = stop.send(());
    serving.await??;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A batch of `size` new applications for client `client`.
fn request(client: u64, first: u64, size: usize) -> proto::AppendEventsRequest {
    let events = (0..size as u64)
        .map(|i| proto::Event {
            event_id: uuid::Uuid::new_v4().to_string(),
            agency_id: format!("agency-{}", client % 50),
            subject_id: format!("c{client}-{}", first + i),
            occurred_on: Some(proto::google::r#type::Date { year: 2024, month: 3, day: 1 }),
            actor: String::new(),
            correlation_id: String::new(),
            payload: Some(Payload::ApplicationReceived(proto::ApplicationReceived {
                applicant_category: proto::ApplicantCategory::NaturalPerson as i32,
                channel: proto::Channel::Online as i32,
            })),
        })
        .collect();
    proto::AppendEventsRequest { events, expected_revisions: vec![] }
}
