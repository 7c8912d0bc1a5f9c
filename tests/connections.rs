//! Connections are reaped: a silent socket is closed after the idle timeout
//! while a live but quiet client (a log subscription waiting for events)
//! is not, and a thousand idle sockets against a server with a low file
//! limit neither spin it nor keep a normal client out.

mod support;

use std::io::Read as _;
use std::time::{Duration, Instant};

use disclosure_ledger::wire::proto;
use support::*;
use tokio_stream::StreamExt;

#[tokio::test]
async fn a_silent_socket_is_closed_and_a_quiet_subscriber_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = spawn_app_with(dir, |c| {
        c.idle_timeout = Duration::from_millis(1500);
        c.keepalive = Duration::from_millis(400);
    })
    .await;

    // A subscriber that waits, quietly, longer than the idle timeout.
    let mut follow = app
        .client
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: true })
        .await
        .expect("subscribe")
        .into_inner();

    let addr = app.addr;
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 64];
        // The server's first bytes (its HTTP/2 settings) may come; then EOF.
        loop {
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap();
    assert!(closed_after < Duration::from_secs(5), "closed after {closed_after:?}");
    assert!(closed_after >= Duration::from_millis(1000), "not before the idle timeout: {closed_after:?}");

    // Three seconds after subscribing, an event still reaches the subscriber.
    app.ok(vec![person("A-1", date(2024, 3, 1))]).await;
    let got = tokio::time::timeout(Duration::from_secs(5), follow.next()).await.expect("in time");
    let got = got.expect("an item").expect("not an error");
    assert_eq!(got.event.expect("event").position, 1);
}

/// CPU time (user + system) of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap().split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[tokio::test]
async fn a_thousand_idle_sockets_with_a_low_file_limit_do_not_keep_a_client_out() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_disclosure-ledger");
    // A file limit of 256, as in the report that found the busy loop.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {bin} --log-format json serve --no-auth --metrics-listen off --listen 127.0.0.1:0 \
             --idle-secs 2 --keepalive-secs 1 --data-dir {}",
            dir.path().display()
        ))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the binary");
    let stderr = child.stderr.take().unwrap();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut accept_errors = 0;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "listening" {
                let _ = addr_tx.send(v["fields"]["addr"].as_str().unwrap().to_owned());
            }
            if v["fields"]["message"] == "cannot accept a connection; pausing" {
                accept_errors += 1;
            }
        }
        accept_errors
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(30)).expect("the server says where it listens");
    wait_serving(&format!("http://{addr}")).await;

    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let idle = tokio::task::spawn_blocking(move || {
        (0..1000)
            .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(idle.len() > 256, "the sockets outnumber the server's files: {}", idle.len());

    // Not a busy loop: the server spends little CPU while they sit there.
    let before = cpu_time(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_time(child.id()) - before;
    assert!(spent < Duration::from_millis(600), "{spent:?} of CPU in 2 s with idle sockets open");

    // A normal client gets in, once the idle sockets ahead of it in the
    // kernel's queue have been accepted and reaped.
    let start = Instant::now();
    let event = person("A-1", date(2024, 3, 1));
    let appended = loop {
        let attempt = async {
            let url = format!("http://{addr}");
            let mut client = proto::ledger_service_client::LedgerServiceClient::connect(url).await.ok()?;
            let request = proto::AppendEventsRequest { events: vec![event.clone()], ..Default::default() };
            client.append_events(request).await.ok()
        };
        if let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(5), attempt).await {
            break r.into_inner();
        }
        assert!(start.elapsed() < Duration::from_secs(40), "a normal client was kept out for 40 s");
    };
    assert_eq!(appended.results.len(), 1);

    drop(idle);
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "a clean stop: {status:?}");
    assert!(log.join().unwrap() > 0, "the accept errors were logged");
}
