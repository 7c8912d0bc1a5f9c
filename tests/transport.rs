//! TLS (with and without client certificates), the plaintext-on-loopback
//! rule, and the Prometheus endpoint.

mod support;

use disclosure_ledger::api::config::{Config, Tls};
use disclosure_ledger::api::server::Server;
use disclosure_ledger::wire::proto::{self, ledger_service_client::LedgerServiceClient};
use support::*;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A CA, a server certificate for localhost and a client certificate, as
/// PEM files in `dir`.
struct Pki {
    ca: String,
    client_cert: String,
    client_key: String,
}

fn pki(dir: &std::path::Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("key");
    let client = CertificateParams::new(vec!["case-system".to_string()])
        .expect("params")
        .signed_by(&client_key, &issuer)
        .expect("client cert");
    std::fs::write(dir.join("server.pem"), server.pem()).expect("write");
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).expect("write");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    Pki { ca: ca.pem(), client_cert: client.pem(), client_key: client_key.serialize_pem() }
}

async fn serve(config: Config) -> std::net::SocketAddr {
    let server = Server::build(config).await.expect("build");
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

async fn tls_client(addr: std::net::SocketAddr, tls: ClientTlsConfig) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://localhost:{}", addr.port())).expect("url").tls_config(tls)?.connect().await
}

async fn append_one(channel: Channel) -> Result<(), tonic::Status> {
    LedgerServiceClient::new(channel)
        .append_events(proto::AppendEventsRequest {
            events: vec![person("A-1", date(2024, 3, 1))],
            expected_revisions: vec![],
            validate_only: false,
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn tls_serves_trusting_clients_and_refuses_plaintext() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let mut config = Config::for_tests(dir.path().join("data"));
    config.tls = Some(Tls { cert: dir.path().join("server.pem"), key: dir.path().join("server.key"), client_ca: None });
    let addr = serve(config).await;
    let trusting = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca)).domain_name("localhost");
    let mut served = false;
    for _ in 0..100 {
        match append_one(tls_client(addr, trusting.clone()).await.expect("tls connect")).await {
            Ok(()) => {
                served = true;
                break;
            }
            Err(s) if s.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(s) => panic!("{s}"),
        }
    }
    assert!(served, "an append over TLS succeeds");
    // A plaintext client gets no gRPC answer from a TLS port.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{}", addr.port())).expect("url").connect().await;
    if let Ok(plain) = plain {
        assert!(append_one(plain).await.is_err());
    }
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let mut config = Config::for_tests(dir.path().join("data"));
    config.tls = Some(Tls {
        cert: dir.path().join("server.pem"),
        key: dir.path().join("server.key"),
        client_ca: Some(dir.path().join("ca.pem")),
    });
    let addr = serve(config).await;
    let anonymous = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca)).domain_name("localhost");
    let refused = match tls_client(addr, anonymous).await {
        Err(_) => true,
        Ok(channel) => append_one(channel).await.is_err(),
    };
    assert!(refused, "no client certificate, no service");
    let with_cert = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .identity(Identity::from_pem(&pki.client_cert, &pki.client_key))
        .domain_name("localhost");
    let mut ok = false;
    for _ in 0..100 {
        match append_one(tls_client(addr, with_cert.clone()).await.expect("connect")).await {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    assert!(ok, "a client certificate signed by the CA is served");
}

#[tokio::test]
async fn plaintext_is_refused_off_loopback_unless_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config::for_tests(dir.path());
    config.listen = "0.0.0.0:0".parse().expect("addr");
    let refused = Server::build(config.clone()).await.err().expect("plaintext on 0.0.0.0 is refused");
    assert!(refused.to_string().contains("--tls-cert"), "{refused}");
    config.allow_plaintext = true;
    Server::build(config).await.expect("allowed when asked for");
}

#[tokio::test]
async fn metrics_are_served_over_http() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config::for_tests(dir.path());
    config.metrics_listen = Some("127.0.0.1:0".parse().expect("addr"));
    let server = Server::build(config).await.expect("build");
    let (addr, metrics) = (server.local_addr(), server.metrics_addr().expect("metrics bound"));
    tokio::spawn(server.run_until(std::future::pending()));
    wait_serving(&format!("http://{addr}")).await;
    append_one(channel(addr).await).await.expect("append");
    let _ = LedgerServiceClient::new(channel(addr).await)
        .get_application(proto::GetApplicationRequest {
            agency_id: AGENCY.into(),
            application_id: "nope".into(),
            as_of: None,
        })
        .await;
    // A stream with one good and one refused message: each is measured.
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let mut answers = LedgerServiceClient::new(channel(addr).await)
        .stream_append_events(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    for (request_id, subject) in [(1, "S-1"), (2, "")] {
        let append = proto::AppendEventsRequest {
            events: vec![person(subject, date(2024, 3, 1))],
            expected_revisions: vec![],
            validate_only: false,
        };
        tx.send(proto::StreamAppendEventsRequest { request_id, append: Some(append) }).await.expect("send");
        answers.message().await.expect("answer").expect("an answer");
    }

    // A live subscription the client walks away from: counted when it ends,
    // as cancelled, not as OK when its headers went out.
    {
        use tokio_stream::StreamExt as _;
        let mut follow = LedgerServiceClient::new(channel(addr).await)
            .read_log(proto::ReadLogRequest { from_position: 1, agency_id: String::new(), follow: true })
            .await
            .expect("follow")
            .into_inner();
        follow.next().await.expect("the first event").expect("ok");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(metrics).await.expect("connect");
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut body = String::new();
    tcp.read_to_string(&mut body).await.expect("read");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    for wanted in [
        "disclosure_appended_events_total",
        "disclosure_commit_seconds_bucket",
        "disclosure_group_events_bucket",
        "disclosure_rpc_seconds_bucket{method=\"LedgerService/AppendEvents\",code=\"Ok\",protocol=\"grpc\"",
        "code=\"NotFound\"",
        "disclosure_rpc_seconds_bucket{method=\"LedgerService/ReadLog\",code=\"Cancelled\",protocol=\"grpc\"",
        "disclosure_rpc_seconds_bucket{method=\"LedgerService/StreamAppendEvents/message\",code=\"Ok\",protocol=\"grpc\"",
        "disclosure_rpc_seconds_bucket{method=\"LedgerService/StreamAppendEvents/message\",code=\"InvalidArgument\",protocol=\"grpc\"",
        "disclosure_log_head_position",
    ] {
        assert!(body.contains(wanted), "{wanted} missing from\n{body}");
    }
}

#[tokio::test]
async fn a_passed_deadline_ends_the_call() {
    let app = spawn_app().await;
    let mut request = tonic::Request::new(proto::VerifyTalliesRequest::default());
    request.set_timeout(std::time::Duration::from_micros(1));
    let status = app.reports().await.verify_tallies(request).await.unwrap_err();
    assert!(
        matches!(status.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled),
        "{:?}: {}",
        status.code(),
        status.message()
    );
}

/// An HTTP/1.1-only client over TLS (a proxy or gateway that speaks only
/// HTTP/1.1, offering just `http/1.1` by ALPN) reaches the HTTP/JSON face
/// on the TLS port, as HTTP/2 clients reach gRPC there.
#[tokio::test]
async fn http1_only_clients_negotiate_tls_too() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let mut config = Config::for_tests(dir.path().join("data"));
    config.tls = Some(Tls { cert: dir.path().join("server.pem"), key: dir.path().join("server.key"), client_ca: None });
    let addr = serve(config).await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pki.ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    // The store opens in the background: ask until it answers.
    let mut answer = String::new();
    for _ in 0..100 {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake offering only http/1.1");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        tls.write_all(b"GET /v1/calendar HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").await.unwrap();
        answer.clear();
        tls.read_to_string(&mut answer).await.unwrap();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("knownYears"), "{answer}");
}
