//! Routes the kernel refuses: counted at every attempt, logged once per prefix and reason
//! (not once per reconciliation run), installed when the kernel takes them again.

use super::*;

/// Everything logged on this thread while the guard lives, as text.
fn capture_logs() -> (
    Arc<std::sync::Mutex<Vec<u8>>>,
    tracing::subscriber::DefaultGuard,
) {
    struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Capture(writer.clone()))
        .finish();
    (buf, tracing::subscriber::set_default(subscriber))
}

#[test]
fn a_refused_route_is_counted_at_every_attempt_and_logged_once() {
    // The current-thread runtime runs every task on this thread: its logs are captured.
    let (logs, _guard) = capture_logs();
    in_namespace(|| async {
        // 198.19.0.1 is on no link: the kernel refuses the gateway.
        let unreachable = change("198.18.5.0/24", Some(learned("198.18.0.2", "198.19.0.1")));
        let t = start(fast(), true, None, vec![unreachable, v4("198.18.6.0/24")]);
        until(
            5,
            "three refused attempts (first run, then two more)",
            || t.metrics.fib.install_failures.get() >= 3,
        )
        .await;
        assert_eq!(
            routes("main", "200"),
            ["198.18.6.0/24 via 198.18.0.2 dev d0 metric 20"]
        );
        // The next hop becomes reachable: installed at the next run, not counted as a reinstall.
        ip("addr add 198.19.0.2/24 dev d0");
        until(
            3,
            "the route installed once its next hop is reachable",
            || routes("main", "200").len() == 2,
        )
        .await;
        assert_eq!(t.metrics.fib.reinstalls.get(), 0);
        t.handle.stop(true).await;
    });
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let refused = text.matches("kernel refused our route").count();
    assert_eq!(refused, 1, "{text}");
    assert!(
        text.contains("kernel route installed after earlier failures"),
        "{text}"
    );
}

#[test]
fn a_reinstall_refused_because_the_next_hop_became_unreachable_is_counted_and_logged_once() {
    let (logs, _guard) = capture_logs();
    in_namespace(|| async {
        let t = start(fast(), true, None, vec![v4("198.18.5.0/24")]);
        until(5, "the route installed", || routes("main", "200") == [R5]).await;
        // The next hop's link address goes (with its connected route): the kernel flushes our
        // route or we delete it by hand; either way it is missing and cannot come back.
        ip("addr del 198.18.0.1/24 dev d0");
        if !routes("main", "200").is_empty() {
            ip("route del 198.18.5.0/24 proto 200");
        }
        until(6, "three refused reinstalls", || {
            t.metrics.fib.install_failures.get() >= 3
        })
        .await;
        assert!(routes("main", "200").is_empty());
        assert_eq!(t.metrics.fib.reinstalls.get(), 0);
        // Reachable again: back at the next run.
        ip("addr add 198.18.0.1/24 dev d0");
        until(3, "the route back", || routes("main", "200") == [R5]).await;
        t.handle.stop(true).await;
    });
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("kernel refused our route"))
        .collect();
    assert_eq!(refused.len(), 1, "{text}");
    assert!(refused[0].contains("198.18.5.0/24"), "{}", refused[0]);
    assert!(
        text.contains("kernel route installed after earlier failures"),
        "{text}"
    );
}
