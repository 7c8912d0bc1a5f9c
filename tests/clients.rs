//! The example clients people will copy (`examples/clients/`), run against
//! the real server with a writer token: Python over gRPC (grpcio), Node
//! over HTTP/JSON (fetch) and over gRPC (@grpc/grpc-js), Java over gRPC
//! (grpc-java). Each appends a receipt and a conclusion, reads the
//! application back and prints the year's section 三 row 一, which must
//! show its one application.
//!
//! Their toolchains are installed by `.ci/run`, which sets
//! `DISCLOSURE_REQUIRE_CLIENTS=1` so that a missing one fails; elsewhere a
//! missing toolchain is reported as SKIPPED.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use disclosure_ledger::wire::proto;
use support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `check` runs; if not, a failure in CI and a SKIPPED elsewhere.
fn available(what: &str, check: &mut Command) -> bool {
    let ok = check.output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("DISCLOSURE_REQUIRE_CLIENTS").is_none(), "{what} is required here but missing");
        eprintln!("SKIPPED: {what} is not installed (.ci/run installs it)");
    }
    ok
}

/// Starts a server with auth, makes a writer token for `agency`, runs the
/// client with it, and checks what it printed and what it wrote.
async fn run_client(agency: &str, program: &str, args: &[&str], address: impl Fn(std::net::SocketAddr) -> String) {
    let app = spawn_app_with(tempfile::tempdir().unwrap(), |c| c.auth = true).await;
    let admin = admin_token(&app);
    let writer = issue_token(&app, &admin, proto::Role::Writer, agency).await;
    let mut command = Command::new(program);
    command.args(args).arg(address(app.addr)).arg(&writer).env("DISCLOSURE_AGENCY", agency).current_dir(root());
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("the client runs");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{program} {args:?}:\n{said}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("appended at positions [1, 2]") || said.contains("appended at positions [ 1, 2 ]"), "{said}");
    assert!(said.contains("events 2"), "{said}");
    assert!(said.contains("三 一 一、本年新收政府信息公开申请数量: 1 0 0 0 0 0 1"), "{said}");
    // And the server holds what it said.
    let year = chrono::Datelike::year(&chrono::Utc::now()) - 1;
    let report = report_as(&app, &admin, agency, year).await;
    assert_eq!(row(&report, "new"), one(0, 1));
}

#[tokio::test]
async fn the_python_client_over_grpc() {
    if !available(
        "Python with grpcio and grpcio-tools",
        Command::new("python3").args(["-c", "import grpc, grpc_tools"]),
    ) {
        return;
    }
    run_client("python-example", "python3", &["examples/clients/python/client.py"], |a| a.to_string()).await;
}

fn node_ready() -> bool {
    available("Node.js", Command::new("node").arg("--version"))
}

#[tokio::test]
async fn the_node_client_over_http_json() {
    if !node_ready() {
        return;
    }
    run_client("node-http-example", "node", &["examples/clients/node/http-fetch.mjs"], |a| format!("http://{a}")).await;
}

#[tokio::test]
async fn the_node_client_over_grpc() {
    let modules: &Path = &root().join("examples/clients/node/node_modules/@grpc/grpc-js");
    if !node_ready()
        || !available(
            "the Node example's packages (npm ci in examples/clients/node)",
            Command::new("test").arg("-d").arg(modules),
        )
    {
        return;
    }
    run_client("node-grpc-example", "node", &["examples/clients/node/grpc.mjs"], |a| a.to_string()).await;
}

#[tokio::test]
async fn the_java_client_over_grpc() {
    if !available("a JDK", Command::new("javac").arg("-version"))
        || !available("Debian's grpc-java", Command::new("test").args(["-f", "/usr/share/java/grpc-stub.jar"]))
        || !available(
            "protoc with the grpc-java plugin",
            Command::new("test").args(["-x", "/usr/bin/grpc_java_plugin"]),
        )
    {
        return;
    }
    run_client("java-example", "bash", &["examples/clients/java/run.sh"], |a| a.to_string()).await;
}
