//! The store's contract, run against both backends: same calls, same answers.

mod common;

use common::{Backend, TestDatabase};
use facehook::server::store::{AttemptLimit, NewAccount};

async fn accounts_are_unique_by_email_and_the_first_is_operator(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;

    let NewAccount::Created(first) = store
        .insert_account("a@example.com", "hash-a", false, true)
        .await
        .unwrap()
    else {
        panic!("first insert creates");
    };
    assert!(first.is_operator, "the first account is the operator");
    assert!(first.id.as_str().starts_with("acc_"));

    let NewAccount::Created(second) = store
        .insert_account("b@example.com", "hash-b", false, true)
        .await
        .unwrap()
    else {
        panic!("second insert creates");
    };
    assert!(!second.is_operator);
    let NewAccount::Created(third) = store
        .insert_account("c@example.com", "hash-c", true, true)
        .await
        .unwrap()
    else {
        panic!("operator insert creates");
    };
    assert!(third.is_operator, "asked-for operators are operators");

    let duplicate = store
        .insert_account("a@example.com", "other", false, true)
        .await
        .unwrap();
    assert!(matches!(duplicate, NewAccount::EmailTaken));
    assert_eq!(store.count_accounts().await.unwrap(), 3);

    let by_email = store
        .account_by_email("b@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_email.id, second.id);
    let by_id = store.account_by_id(&second.id).await.unwrap().unwrap();
    assert_eq!(by_id.email, "b@example.com");
    assert!(store
        .account_by_email("nobody@example.com")
        .await
        .unwrap()
        .is_none());

    let epoch = store
        .set_password_hash(&second.id, "new-hash")
        .await
        .unwrap();
    assert_eq!(epoch, 1, "a new password starts a new session epoch");
    let updated = store.account_by_id(&second.id).await.unwrap().unwrap();
    assert_eq!(updated.password_hash, "new-hash");
    let untouched = store.account_by_id(&first.id).await.unwrap().unwrap();
    assert_eq!(untouched.password_hash, "hash-a");
}

async fn login_failures_answer_the_nth_most_recent(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let limit = |max| AttemptLimit {
        since_ms: facehook::server::clock::now_ms() - 60_000,
        max,
    };
    for _ in 0..3 {
        let reserved = store
            .reserve_login_attempt("a@example.com", "10.0.0.1", limit(3), limit(20))
            .await
            .unwrap();
        assert!(reserved.is_some());
    }
    let refused = store
        .reserve_login_attempt("a@example.com", "10.0.0.2", limit(3), limit(20))
        .await
        .unwrap();
    assert!(refused.is_none(), "the email's allowance is spent");
    let released = store
        .reserve_login_attempt("b@example.com", "10.0.0.1", limit(3), limit(20))
        .await
        .unwrap()
        .expect("another email has its own allowance");
    store.release_login_attempt(released).await.unwrap();
    store
        .reserve_login_attempt("b@example.com", "10.0.0.1", limit(3), limit(20))
        .await
        .unwrap();

    let since = 0;
    assert!(store
        .nth_recent_failure_for_email("a@example.com", since, 3)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .nth_recent_failure_for_email("a@example.com", since, 4)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .nth_recent_failure_for_ip("10.0.0.1", since, 4)
        .await
        .unwrap()
        .is_some());
    let far_future = i64::MAX / 2;
    assert!(store
        .nth_recent_failure_for_email("a@example.com", far_future, 1)
        .await
        .unwrap()
        .is_none());

    store
        .clear_login_failures_for_email("a@example.com")
        .await
        .unwrap();
    assert!(store
        .nth_recent_failure_for_email("a@example.com", since, 1)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .nth_recent_failure_for_email("b@example.com", since, 1)
        .await
        .unwrap()
        .is_some());
}

async fn migrations_are_idempotent_and_ping_answers(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    store
        .migrate()
        .await
        .expect("a second migration run is a no-op");
    store.ping().await.unwrap();
}

on_both_backends!(
    accounts_are_unique_by_email_and_the_first_is_operator,
    login_failures_answer_the_nth_most_recent,
    migrations_are_idempotent_and_ping_answers,
);
