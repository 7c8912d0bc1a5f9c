//! The connections the server accepts: at most a set number at once, each
//! closed when its peer has sent nothing for the idle timeout (a live
//! client answers the server's HTTP/2 keepalive pings, so only dead or
//! silent peers go), and accept errors (a full file table, EMFILE) met with
//! a growing pause and a log line instead of a busy loop. With TLS, each
//! handshake runs on its own (a slow or silent client holds up no one) and
//! within a time limit, offering both HTTP/2 and HTTP/1.1 by ALPN, so that
//! gRPC-Web and HTTP/JSON clients behind HTTP/1.1-only proxies connect as
//! gRPC clients do.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The longest pause after accept errors.
const MOST_PAUSE: Duration = Duration::from_secs(1);

/// How long a TLS handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Accepted connections (TLS ones once their handshake is done), for
/// `serve_with_incoming`. The listener closes when the stream is dropped.
pub fn incoming(
    listener: TcpListener,
    max_connections: usize,
    idle: Duration,
    tls: Option<TlsAcceptor>,
) -> impl Stream<Item = io::Result<Accepted>> {
    let (tx, rx) = mpsc::channel::<io::Result<Accepted>>(64);
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(max_connections.max(1)));
        let mut pause = Duration::ZERO;
        loop {
            // A slot first: at the cap, new clients wait in the kernel's
            // backlog until a connection ends, instead of being accepted and
            // starved.
            let permit = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
                () = tx.closed() => return,
            };
            let stream = loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = tx.closed() => return,
                };
                match accepted {
                    Ok((stream, _)) => break stream,
                    // The peer gave up before it was accepted: nothing to wait for.
                    Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => {
                    }
                    Err(e) => {
                        pause = (pause * 2).clamp(Duration::from_millis(10), MOST_PAUSE);
                        tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "cannot accept a connection; pausing");
                        metrics::counter!("disclosure_accept_errors_total").increment(1);
                        tokio::time::sleep(pause).await;
                    }
                }
            };
            pause = Duration::ZERO;
            let _ = stream.set_nodelay(true);
            let connection = Connection::new(stream, permit, idle);
            match &tls {
                None => {
                    if tx.send(Ok(Accepted::Plain(connection))).await.is_err() {
                        return;
                    }
                }
                Some(acceptor) => {
                    let (acceptor, tx) = (acceptor.clone(), tx.clone());
                    tokio::spawn(async move {
                        let peer = connection.stream.peer_addr().ok();
                        match tokio::time::timeout(HANDSHAKE, acceptor.accept(connection)).await {
                            Ok(Ok(tls)) => {
                                let _ = tx.send(Ok(Accepted::Tls(Box::new(tls)))).await;
                            }
                            // The client's fault (or a scanner's): a debug line and a count, no more.
                            Ok(Err(e)) => {
                                metrics::counter!("disclosure_tls_handshake_failures_total").increment(1);
                                tracing::debug!(?peer, error = %e, "TLS handshake failed");
                            }
                            Err(_) => {
                                metrics::counter!("disclosure_tls_handshake_failures_total").increment(1);
                                tracing::debug!(?peer, "TLS handshake timed out");
                            }
                        }
                    });
                }
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The TLS acceptor of the server's certificate: HTTP/2 and HTTP/1.1 by
/// ALPN; with a client CA, a client certificate signed by it is required
/// (mutual TLS).
pub fn tls_acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = |path: &Path| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .with_context(|| format!("cannot read the certificates in {}", path.display()))?;
        anyhow::ensure!(!certs.is_empty(), "{} holds no PEM certificate", path.display());
        Ok(certs)
    };
    let chain = certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("cannot read the key in {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).with_context(|| format!("a CA certificate in {} is not usable", ca.display()))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).context("the certificate and key do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An accepted connection, plain or with TLS.
pub enum Accepted {
    Plain(Connection),
    Tls(Box<tokio_rustls::server::TlsStream<Connection>>),
}

impl Connected for Accepted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        match self {
            Self::Plain(c) => c.connect_info(),
            Self::Tls(t) => t.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for Accepted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(c) => Pin::new(c).poll_read(cx, buf),
            Self::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(c) => Pin::new(c).poll_write(cx, buf),
            Self::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(c) => Pin::new(c).poll_flush(cx),
            Self::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(c) => Pin::new(c).poll_shutdown(cx),
            Self::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(c) => Pin::new(c).poll_write_vectored(cx, bufs),
            Self::Tls(t) => Pin::new(t.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(c) => c.is_write_vectored(),
            Self::Tls(t) => t.is_write_vectored(),
        }
    }
}

/// An accepted connection: holds its slot until it is dropped, and fails
/// its next read once the peer has been silent for the idle timeout.
pub struct Connection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Connection {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> Self {
        Self { stream, _slot: slot, idle, deadline: Box::pin(tokio::time::sleep(idle)) }
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let next = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    metrics::counter!("disclosure_idle_connections_closed_total").increment(1);
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer was silent past the idle timeout",
                    )))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
