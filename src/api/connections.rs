//! The connections the server accepts: at most a set number at once, each
//! closed when its peer has sent nothing for the idle timeout (a live
//! client answers the server's HTTP/2 keepalive pings, so only dead or
//! silent peers go), and accept errors (a full file table, EMFILE) met with
//! a growing pause and a log line instead of a busy loop.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The longest pause after accept errors.
const MOST_PAUSE: Duration = Duration::from_secs(1);

/// Accepted connections, for `serve_with_incoming`.
pub fn incoming(
    listener: TcpListener,
    max_connections: usize,
    idle: Duration,
) -> impl Stream<Item = io::Result<Connection>> {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    futures_util::stream::unfold((listener, slots, Duration::ZERO), move |(listener, slots, mut pause)| async move {
        // A slot first: at the cap, new clients wait in the kernel's backlog
        // until a connection ends, instead of being accepted and starved.
        let permit = Arc::clone(&slots).acquire_owned().await.expect("the semaphore is never closed");
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let connection = Connection::new(stream, permit, idle);
                    return Some((Ok(connection), (listener, slots, Duration::ZERO)));
                }
                // The peer gave up before it was accepted: nothing to wait for.
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => {}
                Err(e) => {
                    pause = (pause * 2).clamp(Duration::from_millis(10), MOST_PAUSE);
                    tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "cannot accept a connection; pausing");
                    metrics::counter!("disclosure_accept_errors_total").increment(1);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    })
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
