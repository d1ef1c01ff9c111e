//! Conformance cases for the console's shared state in [`IdentityStore`]:
//! failed sign-ins (the throttle every gateway counts into) and session
//! generations (sign-out ends sessions on every gateway).
//!
//! Besides the one-store cases, [`crate::console_conformance_tests!`] runs
//! cases over two handles of one database (two gateways), which must count
//! and see each other's changes at once.

use crate::*;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per console-state case: `$make` is the
/// factory of [`crate::meta_conformance_tests!`], `$pair` an async factory
/// returning two handles on one database and a guard.
#[macro_export]
macro_rules! console_conformance_tests {
    ($make:path, $pair:path) => {
        $crate::console_conformance_tests!(@one $make,
            signin_failures_count_within_the_window, signin_failures_under_concurrency, session_generations);
        $crate::console_conformance_tests!(@two $pair,
            signin_failures_shared_by_two_handles, session_generations_shared_by_two_handles);
    };
    (@one $make:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $crate::conformance::Made::made($make().await) else { return };
                $crate::conformance::$case(store).await;
            }
        )*
    };
    (@two $pair:path, $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((a, b, _guard)) = $crate::conformance::Made::made($pair().await) else { return };
                $crate::conformance::$case(a, b).await;
            }
        )*
    };
}

fn scopes(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn failures(count: u64, oldest: Option<UnixMillis>) -> SigninFailures {
    SigninFailures { count, oldest }
}

pub async fn signin_failures_count_within_the_window(s: Arc<dyn Store>) {
    assert_eq!(s.signin_failures("addr:a", 0).await.unwrap(), failures(0, None));
    for at in [1000, 2000, 3000] {
        s.record_signin_failure(&scopes(&["addr:a", "pair:a:x"]), at, 0).await.unwrap();
    }
    s.record_signin_failure(&scopes(&["addr:a", "pair:a:y"]), 3500, 0).await.unwrap();
    assert_eq!(s.signin_failures("addr:a", 0).await.unwrap(), failures(4, Some(1000)));
    assert_eq!(s.signin_failures("pair:a:x", 0).await.unwrap(), failures(3, Some(1000)));
    assert_eq!(s.signin_failures("pair:a:y", 0).await.unwrap(), failures(1, Some(3500)));
    // `since` is inclusive; older failures do not count.
    assert_eq!(s.signin_failures("pair:a:x", 2000).await.unwrap(), failures(2, Some(2000)));
    assert_eq!(s.signin_failures("pair:a:x", 3001).await.unwrap(), failures(0, None));
    // Scopes are exact keys: no prefix or case matching.
    assert_eq!(s.signin_failures("addr:", 0).await.unwrap(), failures(0, None));
    assert_eq!(s.signin_failures("ADDR:A", 0).await.unwrap(), failures(0, None));
    // Recording forgets what is older than `forget_before`, in every scope.
    s.record_signin_failure(&scopes(&["addr:b"]), 5000, 2500).await.unwrap();
    assert_eq!(s.signin_failures("addr:a", 0).await.unwrap(), failures(2, Some(3000)));
    assert_eq!(s.signin_failures("pair:a:x", 0).await.unwrap(), failures(1, Some(3000)));
    assert_eq!(s.signin_failures("addr:b", 0).await.unwrap(), failures(1, Some(5000)));
    // No scope at all: only forgets.
    s.record_signin_failure(&[], 6000, 4000).await.unwrap();
    assert_eq!(s.signin_failures("addr:a", 0).await.unwrap(), failures(0, None));
    assert_eq!(s.signin_failures("addr:b", 0).await.unwrap(), failures(1, Some(5000)));
}

/// Concurrent failures all count (none lost to a race).
pub async fn signin_failures_under_concurrency(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.record_signin_failure(&scopes(&["addr:c", &format!("pair:c:{i}")]), 10_000 + i, 0).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.signin_failures("addr:c", 0).await.unwrap(), failures(40, Some(10_000)));
    assert_eq!(s.signin_failures("pair:c:7", 0).await.unwrap(), failures(1, Some(10_007)));
}

pub async fn session_generations(s: Arc<dyn Store>) {
    assert_eq!(s.session_generation("user:p/AIDA1").await.unwrap(), 0);
    assert_eq!(s.end_sessions("user:p/AIDA1").await.unwrap(), 1);
    assert_eq!(s.end_sessions("user:p/AIDA1").await.unwrap(), 2);
    assert_eq!(s.session_generation("user:p/AIDA1").await.unwrap(), 2);
    assert_eq!(s.session_generation("user:p/AIDA2").await.unwrap(), 0, "principals are separate");
    assert_eq!(s.session_generation("operator:AK").await.unwrap(), 0);
    assert_eq!(s.end_sessions("operator:AK").await.unwrap(), 1);
    // Concurrent sign-outs each get their own generation.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.end_sessions("operator:AK").await })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (2..=21).collect::<Vec<u64>>());
    assert_eq!(s.session_generation("operator:AK").await.unwrap(), 21);
}

/// Two gateways on one database count failures together, at once.
pub async fn signin_failures_shared_by_two_handles(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    a.record_signin_failure(&scopes(&["addr:z"]), 1000, 0).await.unwrap();
    assert_eq!(b.signin_failures("addr:z", 0).await.unwrap(), failures(1, Some(1000)));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { s.record_signin_failure(&scopes(&["addr:z"]), 2000 + i, 0).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(a.signin_failures("addr:z", 0).await.unwrap(), failures(31, Some(1000)));
    assert_eq!(b.signin_failures("addr:z", 0).await.unwrap(), failures(31, Some(1000)));
    // Either handle's forgetting is seen by the other.
    b.record_signin_failure(&[], 3000, 2015).await.unwrap();
    assert_eq!(a.signin_failures("addr:z", 0).await.unwrap(), failures(15, Some(2015)));
}

/// A sign-out on one gateway is seen by the others at once.
pub async fn session_generations_shared_by_two_handles(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    assert_eq!(b.session_generation("user:q/AIDA9").await.unwrap(), 0);
    assert_eq!(a.end_sessions("user:q/AIDA9").await.unwrap(), 1);
    assert_eq!(b.session_generation("user:q/AIDA9").await.unwrap(), 1);
    assert_eq!(b.end_sessions("user:q/AIDA9").await.unwrap(), 2);
    assert_eq!(a.session_generation("user:q/AIDA9").await.unwrap(), 2);
}
