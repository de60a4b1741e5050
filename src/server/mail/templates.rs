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

pub fn no_account(to: &str) -> OutgoingMail {
    mail(
        to,
        "Reset your Facehook password",
        &[
            "Someone (we hope you) asked to reset the password of a Facehook account with this email, but no account uses it.",
            "If you have an account, it may use another address: ask for the link again with that one. If you did not ask, ignore this mail.",
        ],
        None,
    )
}

pub fn invitation(to: &str, org: &str, inviter: &str, role: &str, link: &str) -> OutgoingMail {
    let invited = format!("{inviter} invited you to join {org} on Facehook as {role}.");
    mail(
        to,
        &format!("Join {org} on Facehook"),
        &[
            &invited,
            "The link below works once, for 7 days, with a new or an existing account. If you did not expect it, ignore this mail.",
        ],
        Some(("Accept the invitation", link)),
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

pub fn email_verification(to: &str, link: &str) -> OutgoingMail {
    mail(
        to,
        "Confirm your email for Facehook",
        &[
            "Confirm that this address belongs to your Facehook account by opening the link below. It works once, for 48 hours.",
            "If you did not create an account or change its email, ignore this mail.",
        ],
        Some(("Confirm my email", link)),
    )
}

pub fn new_sign_in(to: &str, when: &str, ip: &str, browser: &str, sessions: &str) -> OutgoingMail {
    mail(
        to,
        "New sign-in to your Facehook account",
        &[
            &format!("Your Facehook account was signed in to at {when} from {ip} ({browser}), an address it has not used in the last 30 days."),
            "If this was you, there is nothing to do. If not, revoke the session, change your password and turn on two-factor sign-in.",
        ],
        Some(("See your sessions", sessions)),
    )
}

pub fn two_factor_enabled(to: &str, when: &str) -> OutgoingMail {
    mail(
        to,
        "Two-factor sign-in was turned on",
        &[
            &format!("Two-factor sign-in was turned on for your Facehook account at {when}. Signing in now asks for a code from the authenticator app that was set up."),
            "If this was not you, someone has your password and a session: reset your password now and tell your operator.",
        ],
        None,
    )
}

pub fn two_factor_disabled(to: &str, when: &str) -> OutgoingMail {
    mail(
        to,
        "Two-factor sign-in was turned off",
        &[
            &format!("Two-factor sign-in was turned off for your Facehook account at {when}. Signing in now needs only the password."),
            "If this was not you, reset your password now, turn two-factor sign-in back on and tell your operator.",
        ],
        None,
    )
}

pub fn email_changed(to_old: &str, new_email: &str, when: &str) -> OutgoingMail {
    mail(
        to_old,
        "Your Facehook email was changed",
        &[
            &format!("The email of your Facehook account was changed from this address to {new_email} at {when}. Mail about the account now goes there."),
            "If this was not you, tell your operator at once: they can restore the address.",
        ],
        None,
    )
}

/// An alert, mailed to each member who chose its kind; `to` is filled per recipient.
pub fn alert(kind: &str, message: &str, link: Option<&str>) -> OutgoingMail {
    mail(
        "",
        &format!("Facehook alert: {kind}"),
        &[
            message,
            "You receive this because you chose this alert on your Facehook account page; change your choices there.",
        ],
        link.map(|url| ("Open it in the console", url)),
    )
}
