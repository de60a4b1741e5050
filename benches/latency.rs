//! `make bench`, notification latency: from sending an event to Facehook's API to the
//! webhook's arrival at its receivers, against a direct POST from the same client to the same
//! receivers, one event at a time, with the dispatcher running in the server. Printed with 1
//! endpoint (plain HTTP) and with 3 (plain HTTP, HTTP/2 over TLS 1.3, HTTP/1.1 over TLS 1.3):
//! with 3, a sample lasts until the last receiver has its request, for both. Facehook's and
//! the direct samples alternate, so both meet the same machine.
//! `cargo bench --features ssr --bench latency -- sqlite` runs one backend.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use common::receiver::{Receiver, TestPki};
use common::Backend;
use std::time::{Duration, Instant};

const SAMPLES: usize = 400;
/// Events sent first and not counted: the first after start-up open the pools' database
/// connections, prepare statements and connect to the receivers.
const WARMUP: usize = 30;
const WITHIN: Duration = Duration::from_secs(10);

/// The goals above a direct POST, p50 and p99 in milliseconds.
fn goal(backend: Backend) -> (f64, f64) {
    match backend {
        Backend::Sqlite => (1.0, 5.0),
        Backend::Postgres => (2.0, 8.0),
    }
}

#[tokio::main]
async fn main() {
    println!(
        "latency benchmark (loopback; one event at a time, {SAMPLES} samples each; p50/p99 in ms \
         from sending the event to the API until its reply, and until the webhook arrived, \
         against a direct POST to the same receivers)"
    );
    println!(
        "{:<10} {:>9} {:>16} {:>16} {:>16} {:>16} {:>12}",
        "backend",
        "endpoints",
        "API reply",
        "webhook arrived",
        "direct POST",
        "above direct",
        "goal"
    );
    let pki = TestPki::generate();
    for backend in support::chosen_backends() {
        for endpoints in [1, 3] {
            let run = Run::start(backend, &pki, endpoints).await;
            let Measured {
                reply,
                facehook,
                direct,
            } = run.measure().await;
            run.stop().await;
            let above = (facehook.0 - direct.0, facehook.1 - direct.1);
            let (p50_goal, p99_goal) = goal(backend);
            let met = above.0 <= p50_goal && above.1 <= p99_goal;
            println!(
                "{:<10} {:>9} {:>16} {:>16} {:>16} {:>16} {:>12}",
                support::backend_name(backend),
                endpoints,
                pair(reply),
                pair(facehook),
                pair(direct),
                pair(above),
                format!(
                    "{p50_goal:.0}/{p99_goal:.0} {}",
                    if met { "met" } else { "MISSED" }
                ),
            );
        }
    }
    println!(
        "goals: above direct p50/p99 <= 1/5 ms on SQLite and <= 2/8 ms on PostgreSQL; webhook \
         arrived p50 <= 3 ms, p99 <= 15 ms"
    );
}

fn pair((p50, p99): (f64, f64)) -> String {
    format!("{p50:.2}/{p99:.2}")
}

struct Measured {
    reply: (f64, f64),
    facehook: (f64, f64),
    direct: (f64, f64),
}

struct Run {
    hooked: common::dispatch::Hooked,
    receivers: Vec<Receiver>,
    urls: Vec<String>,
    direct: reqwest::Client,
    _ca_dir: tempfile::TempDir,
}

impl Run {
    /// A server delivering to `endpoints` receivers: plain HTTP, then HTTP/2 and HTTP/1.1 over
    /// TLS signed by `pki`'s CA, which the server and the direct client both trust.
    async fn start(backend: Backend, pki: &TestPki, endpoints: usize) -> Run {
        let ca_dir = tempfile::tempdir().unwrap();
        let ca_file = ca_dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        let mut receivers = vec![Receiver::start("127.0.0.1:0").await];
        let mut urls = vec![receivers[0].url("/latency")];
        for alpn in [&b"h2"[..], &b"http/1.1"[..]]
            .into_iter()
            .take(endpoints - 1)
        {
            let receiver = Receiver::start_tls(pki.server_config(&[alpn])).await;
            urls.push(format!(
                "https://127.0.0.1:{}/latency",
                receiver.addr.port()
            ));
            receivers.push(receiver);
        }
        let hooked = common::dispatch::dispatching_app_with(backend, |config| {
            common::dispatch::loopback_dispatch(config, "0s");
            config.dispatch.extra_ca_file = Some(ca_file.clone());
            config.api_rate_per_second = 1_000_000;
            config.api_burst = 1_000_000;
        })
        .await;
        for url in &urls {
            hooked.add_endpoint(url, &[]).await;
        }
        let direct = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        Run {
            hooked,
            receivers,
            urls,
            direct,
            _ca_dir: ca_dir,
        }
    }

    /// p50 and p99 in milliseconds of Facehook's samples, of its API replies and of the
    /// direct samples.
    async fn measure(&self) -> Measured {
        let (mut facehook, mut direct, mut replies) = (Vec::new(), Vec::new(), Vec::new());
        let mut arrived = 0;
        for n in 0..WARMUP + SAMPLES {
            let started = Instant::now();
            self.hooked.enroll(&format!("latency-{n}")).await;
            let answered = started.elapsed();
            arrived += 1;
            let through_facehook = self.last_arrival(arrived).await - started;

            let started = Instant::now();
            let mut posts = tokio::task::JoinSet::new();
            for url in &self.urls {
                let post = self
                    .direct
                    .post(url)
                    .header("content-type", "application/json")
                    .body(r#"{"eventName":"enroll","facialId":"direct"}"#)
                    .send();
                posts.spawn(post);
            }
            while let Some(response) = posts.join_next().await {
                assert!(response
                    .unwrap()
                    .expect("direct POST")
                    .status()
                    .is_success());
            }
            arrived += 1;
            let posted_directly = self.last_arrival(arrived).await - started;

            if n >= WARMUP {
                facehook.push(through_facehook.as_secs_f64() * 1000.0);
                direct.push(posted_directly.as_secs_f64() * 1000.0);
                replies.push(answered.as_secs_f64() * 1000.0);
            }
        }
        Measured {
            reply: quantiles(replies),
            facehook: quantiles(facehook),
            direct: quantiles(direct),
        }
    }

    /// When the last of the receivers got its `count`th request.
    async fn last_arrival(&self, count: usize) -> Instant {
        let mut last = None;
        for receiver in &self.receivers {
            let at = receiver.wait_for(count, WITHIN).await[count - 1].at;
            last = last.max(Some(at));
        }
        last.unwrap()
    }

    async fn stop(self) {
        for receiver in &self.receivers {
            receiver.stop();
        }
        self.hooked.app.stop().await;
    }
}

fn quantiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99))
}
