//! The real binary as a child process, for tests of what only a process
//! shows: a SIGKILL, an exit code, a refusal to start, a file limit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use tokio_stream::StreamExt;

/// The binary serving a directory on a free port.
pub struct Process {
    pub child: Child,
    pub url: String,
    /// Every line it logged so far (JSON).
    pub log: Arc<Mutex<Vec<String>>>,
}

/// The arguments of `serve` every test passes.
fn serve_args(dir: &std::path::Path) -> Vec<String> {
    let mut args: Vec<String> = ["--log-format", "json", "serve", "--no-auth", "--metrics-listen", "off"]
        .into_iter()
        .chain(["--rate-limit", "0", "--listen", "127.0.0.1:0", "--data-dir"])
        .map(String::from)
        .collect();
    args.push(dir.display().to_string());
    args
}

impl Process {
    pub fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts it with `env` set; panics if it does not start listening.
    pub fn start_with(dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::try_start(dir, env).unwrap_or_else(|(status, log)| panic!("exited {status:?}:\n{}", log.join("\n")))
    }

    /// Starts it; if it exits before it serves, its exit status and log.
    pub fn try_start(
        dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Result<Self, (std::process::ExitStatus, Vec<String>)> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_disclosure-ledger"))
            .args(serve_args(dir))
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            // Reads the whole log, so the child never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in lines.by_ref().map_while(Result::ok) {
                    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                    if v["fields"]["message"] == "listening" {
                        let _ = addr_tx.send(v["fields"]["addr"].as_str().unwrap().to_owned());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = match addr_rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let status = child.wait().unwrap();
                return Err((status, log.lock().unwrap().clone()));
            }
        };
        Ok(Self { child, url: format!("http://{addr}"), log })
    }

    /// Waits for it to exit by itself, at most `within`.
    pub fn wait_exit(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

/// The whole log of the server at `url`, in order.
pub async fn whole_log(url: &str) -> Vec<proto::RecordedEvent> {
    let (events, losses) = whole_log_with_losses(url).await;
    assert!(losses.is_empty(), "no position was lost: {losses:?}");
    events
}

/// The whole log of the server at `url`, in order, and the lost ranges it
/// skips.
pub async fn whole_log_with_losses(url: &str) -> (Vec<proto::RecordedEvent>, Vec<proto::LostRange>) {
    let mut client = LedgerServiceClient::connect(url.to_owned()).await.unwrap();
    let mut stream = client
        .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: false })
        .await
        .unwrap()
        .into_inner();
    let (mut events, mut losses) = (Vec::new(), Vec::new());
    while let Some(r) = stream.next().await {
        let r = r.unwrap();
        match (r.event, r.lost) {
            (Some(event), None) => events.push(event),
            (None, Some(lost)) => losses.push(lost),
            other => panic!("an event or a lost range: {other:?}"),
        }
    }
    (events, losses)
}
