//! The mails Facehook sends, each as plain text and HTML with the same words.

use crate::server::store::OutgoingMail;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn mail(to: &str, subject: &str, paragraphs: &[&str], link: Option<(&str, &str)>) -> OutgoingMail {
    let mut text = paragraphs.join("\n\n");
    let mut html = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect::<String>();
    if let Some((label, url)) = link {
        text.push_str(&format!("\n\n{label}: {url}"));
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p><p>{}</p>",
            escape(url),
            escape(label),
            escape(url)
        ));
    }
    text.push_str("\n\n— Facehook");
    OutgoingMail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html: format!("<!doctype html><html><body>{html}<p>— Facehook</p></body></html>"),
    }
}

pub fn password_reset(to: &str, link: &str) -> OutgoingMail {
    mail(
        to,
        "Reset your Facehook password",
        &[
            "Someone (we hope you) asked to reset the password of your Facehook account.",
            "The link below works once, for 30 minutes. If you did not ask, ignore this mail: your password stays as it is.",
        ],
        Some(("Choose a new password", link)),
    )
}

pub fn password_changed(to: &str, when: &str) -> OutgoingMail {
    mail(
        to,
        "Your Facehook password was changed",
        &[
            &format!("The password of your Facehook account was changed at {when}, and every session was signed out."),
            "If this was not you, reset your password now and tell your operator.",
        ],
        None,
    )
}
