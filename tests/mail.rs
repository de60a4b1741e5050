//! Mail through a real SMTP server (aiosmtpd on loopback): the operator's test mail, and the
//! outbox on SQLite and PostgreSQL — a mail queued while the server is down waits, and is
//! delivered once it is back; nothing is lost and nothing is sent twice.

mod common;

use common::smtp::{free_port, SmtpServer};
use common::{Backend, TestDatabase};
use facehook::server::mail::{run_sender_with_delays, MailSettings, Mailer};
use facehook::server::store::OutgoingMail;
use std::process::Command;
use std::time::Duration;

const FROM: &str = "Facehook <facehook@example.com>";

#[tokio::test]
async fn send_test_mail_reaches_the_server_or_says_why_not() {
    let server = SmtpServer::start().await;
    let sent = Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["send-test-mail", "--to", "ops@example.com"])
        .env("FACEHOOK_SMTP_URL", server.url())
        .env("FACEHOOK_MAIL_FROM", FROM)
        .output()
        .expect("run facehook");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let mails = server.wait_for(1, Duration::from_secs(10)).await;
    assert!(
        mails[0].contains("Subject: Facehook test mail"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: ops@example.com"));
    assert!(mails[0].contains("Mail works."));

    let down = free_port();
    let refused = Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["send-test-mail", "--to", "ops@example.com"])
        .env(
            "FACEHOOK_SMTP_URL",
            format!("smtp://127.0.0.1:{down}?tls=off"),
        )
        .env("FACEHOOK_MAIL_FROM", FROM)
        .output()
        .expect("run facehook");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("did not take the mail"), "{said}");

    let unset = Command::new(env!("CARGO_BIN_EXE_facehook"))
        .args(["send-test-mail", "--to", "ops@example.com"])
        .env_remove("FACEHOOK_SMTP_URL")
        .env_remove("FACEHOOK_MAIL_FROM")
        .output()
        .expect("run facehook");
    assert!(String::from_utf8_lossy(&unset.stderr).contains("set FACEHOOK_SMTP_URL"));
}

async fn queued_mail_waits_for_the_server_and_arrives_once(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let port = free_port();
    let settings = MailSettings::from_config(
        Some(&format!("smtp://127.0.0.1:{port}?tls=off")),
        Some(FROM),
    )
    .unwrap()
    .unwrap();
    let mailer = Mailer::new(&settings).unwrap();
    let id = store
        .queue_mail(&OutgoingMail {
            to: "owner@example.com".into(),
            subject: "Reset your password".into(),
            text: "Open this link: https://facehook.example/reset".into(),
            html: "<p>Open <a href=\"https://facehook.example/reset\">this link</a></p>".into(),
        })
        .await
        .unwrap();
    let sender = tokio::spawn(run_sender_with_delays(
        store.clone(),
        mailer,
        &[1, 1, 1, 1, 1, 1, 1, 1],
    ));

    // Nothing listens: the first try fails and the mail waits in the outbox.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        store.mail_backlog().await.unwrap(),
        (1, 0),
        "{id} still waits"
    );

    let server = SmtpServer::start_on(port).await;
    let mails = server.wait_for(1, Duration::from_secs(15)).await;
    assert!(mails[0].contains("Subject: Reset your password"));
    assert!(mails[0].contains("https://facehook.example/reset"));
    // Plain text and HTML, as alternatives.
    assert!(mails[0].contains("multipart/alternative"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.mail_backlog().await.unwrap() != (0, 0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the sent mail is marked"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.mails().len(), 1, "sent once");
    sender.abort();
}

/// Two servers (replicas sharing a database) drain one outbox: each mail goes out once.
async fn two_senders_share_the_outbox_without_doubles(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let server = SmtpServer::start().await;
    let settings = MailSettings::from_config(Some(&server.url()), Some(FROM))
        .unwrap()
        .unwrap();
    for n in 0..30 {
        store
            .queue_mail(&OutgoingMail {
                to: format!("owner{n}@example.com"),
                subject: format!("Mail {n}"),
                text: "Hello".into(),
                html: "<p>Hello</p>".into(),
            })
            .await
            .unwrap();
    }
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let mailer = Mailer::new(&settings).unwrap();
            tokio::spawn(run_sender_with_delays(store.clone(), mailer, &[1, 1]))
        })
        .collect();
    let mails = server.wait_for(30, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut subjects: Vec<String> = server
        .mails()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with("Subject: "))
                .map(str::to_owned)
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 30, "every mail arrived");
    assert_eq!(
        server.mails().len(),
        30,
        "none twice ({} first seen)",
        mails.len()
    );
    assert_eq!(store.mail_backlog().await.unwrap(), (0, 0));
    for sender in senders {
        sender.abort();
    }
}

on_both_backends!(
    queued_mail_waits_for_the_server_and_arrives_once,
    two_senders_share_the_outbox_without_doubles,
);
