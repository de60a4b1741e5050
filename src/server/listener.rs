//! Serves HTTP on a listener with bounds on what connections may hold: a cap on open
//! connections below the open-file limit, a deadline for a new connection's first request,
//! and an idle timeout, so idle or slow sockets cannot starve probes, the console or intake.
//! Knows nothing of routes: it is handed a ready `Router`.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What a connection may hold.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A new connection must send a whole request head within this.
    pub first_request: Duration,
    /// A connection with nothing read or written for this long is closed.
    pub idle: Duration,
    /// On shutdown, how long open requests may take to finish.
    pub drain: Duration,
}

impl ConnectionLimits {
    pub fn new(max_connections: usize) -> Self {
        ConnectionLimits {
            max_connections,
            first_request: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            drain: Duration::from_secs(30),
        }
    }
}

/// File descriptors kept free for the database, the dispatcher's sockets and files.
const RESERVED_FILES: u64 = 512;

/// Raises the soft open-file limit to the hard one and returns how many connections fit
/// below it, at most `wanted`.
pub fn connections_within_file_limit(wanted: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if limit.current < limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => soft = limit.maximum,
            Err(err) => tracing::warn!(error = %err, "could not raise the open-file limit"),
        }
    }
    let Some(soft) = soft else {
        return wanted; // unlimited
    };
    let room = soft.saturating_sub(RESERVED_FILES).max(16);
    let allowed = usize::try_from(room).unwrap_or(usize::MAX).min(wanted);
    if allowed < wanted {
        tracing::warn!(
            open_files = soft,
            connections = allowed,
            "the open-file limit caps connections below FACEHOOK_MAX_CONNECTIONS"
        );
    }
    allowed
}

/// Serves `router` until `shutdown` completes, then lets open requests finish (up to
/// `limits.drain`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.first_request);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of files or a connection reset before accept: wait, do not spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (builder, router, limits) = (builder.clone(), router.clone(), limits.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let io = ActivityIo::new(stream);
            let activity = io.activity.clone();
            let service = hyper::service::service_fn(move |mut request| {
                request.extensions_mut().insert(ConnectInfo(peer));
                tower::ServiceExt::oneshot(router.clone(), request)
            });
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(io), service));
            tokio::pin!(connection);
            loop {
                let limit = if activity.read_anything() {
                    limits.idle
                } else {
                    limits.first_request
                };
                tokio::select! {
                    served = connection.as_mut() => {
                        if let Err(err) = served {
                            tracing::debug!(error = %err, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    () = tokio::time::sleep_until(activity.last() + limit) => {
                        // Asked again: a request read since the wait began moves the
                        // connection from the first-request deadline to the idle one.
                        let limit = if activity.read_anything() {
                            limits.idle
                        } else {
                            limits.first_request
                        };
                        if activity.last().elapsed() >= limit {
                            tracing::debug!(%peer, "closing an idle connection");
                            break;
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open requests did not finish in time; closing their connections");
    }
    Ok(())
}

/// When a connection last read or wrote a byte, and whether it ever read one.
struct Activity {
    started: Instant,
    /// Milliseconds after `started`.
    last_ms: AtomicU64,
    read_anything: AtomicBool,
}

impl Activity {
    fn touch(&self, read: bool) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
        if read {
            self.read_anything.store(true, Ordering::Relaxed);
        }
    }

    fn last(&self) -> Instant {
        self.started + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    fn read_anything(&self) -> bool {
        self.read_anything.load(Ordering::Relaxed)
    }
}

/// A TCP stream that notes its activity for the idle timeout.
struct ActivityIo {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl ActivityIo {
    fn new(stream: TcpStream) -> Self {
        ActivityIo {
            stream,
            activity: Arc::new(Activity {
                started: Instant::now(),
                last_ms: AtomicU64::new(0),
                read_anything: AtomicBool::new(false),
            }),
        }
    }
}

impl AsyncRead for ActivityIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch(true);
        }
        polled
    }
}

impl AsyncWrite for ActivityIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(false);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(false);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A request whose answer takes longer than the first-request deadline is answered: that
    /// deadline ends once the request is read, and the idle one applies.
    #[tokio::test]
    async fn a_slow_answer_outlives_the_first_request_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        );
        let limits = ConnectionLimits {
            max_connections: 8,
            first_request: Duration::from_millis(200),
            idle: Duration::from_secs(5),
            drain: Duration::from_secs(1),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        socket
            .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        assert!(answer.ends_with("done"), "{answer:?}");
        let _ = stop.send(());
        let _ = server.await;
    }
}
