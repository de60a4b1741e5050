//! A webhook receiver for tests: records every request it gets and answers from a script
//! (status, headers, delay), over plain HTTP or HTTPS with a chosen ALPN list.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: Version,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Shared {
    /// Only counts requests instead of keeping them: a benchmark's receiver should cost what
    /// a real one does, not grow by every request.
    counting_only: bool,
    counted: std::sync::atomic::AtomicUsize,
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    /// Answer used once the script is empty.
    otherwise: Mutex<Option<Reply>>,
    /// Answers for requests whose body holds a text, before the script.
    rules: Mutex<Vec<(String, Reply)>>,
    in_flight: Mutex<(usize, usize)>,
    /// The TLS version of each accepted HTTPS connection.
    tls_versions: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A plain-HTTP receiver on `bind` (`127.0.0.1:0`, `[::1]:0`).
    pub async fn start(bind: &str) -> Receiver {
        Self::start_with(bind, Shared::default()).await
    }

    /// A receiver that answers 200 and counts requests without keeping them (`count` and
    /// `wait_for` work; `received` stays empty).
    pub async fn start_counting(bind: &str) -> Receiver {
        let shared = Shared {
            counting_only: true,
            ..Shared::default()
        };
        Self::start_with(bind, shared).await
    }

    async fn start_with(bind: &str, shared: Shared) -> Receiver {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(shared);
        let router = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            addr,
            shared,
            task: Arc::new(task),
        }
    }

    /// An HTTPS receiver on 127.0.0.1 offering only the given ALPN protocols.
    pub async fn start_tls(tls: Arc<tokio_rustls::rustls::ServerConfig>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let router = router(shared.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        let connections = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                let connections = connections.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let version = stream.get_ref().1.protocol_version().unwrap();
                    connections
                        .tls_versions
                        .lock()
                        .unwrap()
                        .push(format!("{version:?}"));
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                });
            }
        });
        Receiver {
            addr,
            shared,
            task: Arc::new(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues answers for the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// The answer once the script has run out (200 by default).
    /// Answers `reply` to every request whose body contains `text`, until `clear_rules`.
    pub fn when_body_has(&self, text: &str, reply: Reply) {
        self.shared
            .rules
            .lock()
            .unwrap()
            .push((text.to_owned(), reply));
    }

    pub fn clear_rules(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    pub fn otherwise(&self, reply: Reply) {
        *self.shared.otherwise.lock().unwrap() = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn tls_versions(&self) -> Vec<String> {
        self.shared.tls_versions.lock().unwrap().clone()
    }

    /// Most requests this receiver was handling at the same moment.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.in_flight.lock().unwrap().1
    }

    pub fn count(&self) -> usize {
        if self.shared.counting_only {
            return self
                .shared
                .counted
                .load(std::sync::atomic::Ordering::Relaxed);
        }
        self.shared.received.lock().unwrap().len()
    }

    /// Waits until `count` requests arrived; fails the test after `within`.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.count();
            if arrived >= count {
                return self.received();
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} webhook requests within {within:?}, got {arrived}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(receive).with_state(shared)
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let version = request.version();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if shared.counting_only {
        shared
            .counted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return (StatusCode::OK, "ok").into_response();
    }
    {
        let mut in_flight = shared.in_flight.lock().unwrap();
        in_flight.0 += 1;
        in_flight.1 = in_flight.1.max(in_flight.0);
    }
    let ruled = {
        let rules = shared.rules.lock().unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        rules
            .iter()
            .find(|(needle, _)| text.contains(needle.as_str()))
            .map(|(_, reply)| reply.clone())
    };
    shared.received.lock().unwrap().push(Received {
        headers: parts.headers,
        body,
        version,
        at: Instant::now(),
    });
    let reply = ruled
        .or_else(|| shared.script.lock().unwrap().pop_front())
        .or_else(|| shared.otherwise.lock().unwrap().clone())
        .unwrap_or_else(|| Reply::status(200));
    // A zero sleep still waits for the timer's next millisecond tick, which would cap every
    // connection at about a thousand requests a second.
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    shared.in_flight.lock().unwrap().0 -= 1;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), "ok").into_response();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("a valid header value"));
    }
    response
}

/// A private CA and a certificate for `127.0.0.1` and `localhost` signed by it.
pub struct TestPki {
    pub ca_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl TestPki {
    pub fn generate() -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Facehook test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        TestPki {
            ca_pem: ca.pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }

    /// A TLS 1.3-capable server configuration offering exactly `alpn`.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<tokio_rustls::rustls::ServerConfig> {
        use tokio_rustls::rustls;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert_der.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
            )
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}
