//! Prometheus metrics on their own listener: they move with requests and parse as Prometheus
//! text, and the public listener does not serve them.

use careergraph_auth::Role;
use prometheus_parse::{Scrape, Value};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_both_backends;

pub(crate) async fn scrape(app: &TestApp) -> Scrape {
    let url = format!("{}/metrics", app.metrics_address.as_deref().expect("a metrics listener"));
    let response = app.client.get(url).send().await.expect("the metrics listener answers");
    assert!(response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let text = response.text().await.expect("text");
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text")
}

/// The value of `metric` with every label in `labels` (0 when absent), or its histogram's count.
pub(crate) fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .filter(|sample| labels.iter().all(|(name, value)| sample.labels.get(name) == Some(*value)))
        .map(|sample| match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |bucket| bucket.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

on_both_backends! {
    async fn metrics_move_with_requests_and_parse_as_prometheus_text(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"))).await;
        let before = scrape(&app).await;
        assert_eq!(value(&before, "careergraph_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
        let pools: Vec<&str> = before.samples.iter().filter(|s| s.metric == "careergraph_db_pool_connections").filter_map(|s| s.labels.get("pool")).collect();
        assert!(pools.contains(&"primary") && !pools.contains(&"replica"), "the primary pool's gauges, and no replica: {pools:?}");
        // An embedded SQLite file has read-only connections of its own beside its one writer.
        assert_eq!(pools.contains(&"reader"), backend == Backend::Sqlite, "{pools:?}");
        // In use and idle together: the pool's size (a connection may be on its way back).
        assert!(value(&before, "careergraph_db_pool_connections", &[("pool", "primary")]) >= 1.0);

        let page = json!({ "query": "query CareerPage { careerPath(slug: \"backend-developer\") { title } }", "operationName": "CareerPage" });
        app.post_json(page.clone()).await;
        app.post_json(page).await;
        app.token_for("viewer@example.com", Role::Viewer).await;
        let wrong = app.graphql("mutation { login(input: { email: \"viewer@example.com\", password: \"wrong guess 12345\" }) { accessToken } }", json!({})).await;
        assert!(wrong.get("errors").is_some());

        let after = scrape(&app).await;
        let ok = [("operation", "CareerPage"), ("operation_type", "query"), ("outcome", "ok")];
        assert_eq!(value(&after, "careergraph_requests_total", &ok), 2.0);
        assert!(value(&after, "careergraph_request_duration_seconds", &[("operation_type", "query")]) >= 2.0);
        assert_eq!(value(&after, "careergraph_errors_total", &[("code", "UNAUTHENTICATED")]), 1.0);
        assert_eq!(value(&after, "careergraph_sign_ins_total", &[("outcome", "success")]), 1.0);
        assert_eq!(value(&after, "careergraph_sign_ins_total", &[("outcome", "invalid")]), 1.0);
        // register, a right and a wrong password: three turns of the hashing pool.
        assert!(value(&after, "careergraph_password_hash_wait_seconds", &[]) >= 3.0);
        assert_eq!(value(&after, "careergraph_password_hash_queue", &[]), 0.0);

        let public = app.client.get(format!("{}/metrics", app.address)).send().await.expect("answer");
        assert_eq!(public.status(), StatusCode::NOT_FOUND, "never on the public listener");
    }

    async fn a_reading_pool_has_gauges_of_its_own(backend: Backend) {
        // SQLite reads through read-only connections of its own file; PostgreSQL through a read
        // URL (here the primary itself).
        let primary = crate::helpers::spawn_app(backend).await;
        let url = primary.database_url.clone();
        let app = spawn_app_with(backend, move |config| {
            config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
            if backend != Backend::Sqlite {
                config.database_read_url = Some(url.clone());
            }
            config.database_url = Some(url);
        })
        .await;
        app.query_ok("{ careerPaths(first: 1) { edges { node { title } } } }", json!({})).await;
        let scraped = scrape(&app).await;
        let reader = if backend == Backend::Sqlite { "reader" } else { "replica" };
        for pool in ["primary", reader] {
            // In use and idle together: the pool's size (the query's connection may be on its way back).
            assert!(value(&scraped, "careergraph_db_pool_connections", &[("pool", pool)]) >= 1.0, "{pool}");
        }
    }

    async fn operations_past_the_execution_slots_wait_their_turn_and_all_finish(backend: Backend) {
        // Thirty-two reads sent at once overlap for certain.
        async fn reads_at_once(app: &TestApp) {
            let read = "{ careerPaths(first: 20) { edges { node { title skills { skill { name } } } } } }";
            let answers = futures::future::join_all((0..32).map(|_| app.graphql(read, json!({})))).await;
            for answer in answers {
                assert!(answer.get("errors").is_none(), "every read is answered: {answer}");
            }
        }
        for (slots, queue) in [(1, true), (64, false)] {
            let app = spawn_app_with(backend, |config| {
                config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
                config.max_concurrent_operations = Some(slots);
                config.response_cache_mib = 0;
            })
            .await;
            reads_at_once(&app).await;
            let scraped = scrape(&app).await;
            let queued = value(&scraped, "careergraph_operations_queued_total", &[]);
            assert_eq!(queued > 0.0, queue, "{slots} slots: {queued} operations waited");
            assert_eq!(value(&scraped, "careergraph_operations", &[("state", "waiting")]), 0.0);
            assert_eq!(value(&scraped, "careergraph_operations", &[("state", "executing")]), 0.0);
        }
    }

    async fn sign_ins_waiting_for_a_password_check_leave_the_execution_slots_to_reads(backend: Backend) {
        // One execution slot and one password check at a time: eight sign-ins sent at once queue.
        let app = spawn_app_with(backend, |config| {
            config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
            config.max_concurrent_operations = Some(1);
            config.password_hash_concurrency = Some(1);
            config.response_cache_mib = 0;
            // The sign-in throttle counts attempts in flight; here they are one user's, on purpose.
            config.login_free_failures = 1000;
            config.login_free_failures_per_address = 1000;
        })
        .await;
        app.token_for("viewer@example.com", Role::Viewer).await;
        let login = "mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }";
        let variables = json!({ "e": "viewer@example.com", "p": crate::helpers::PASSWORD });
        let signed_in = std::sync::atomic::AtomicUsize::new(0);
        let sign_ins = futures::future::join_all((0..8).map(|_| async {
            let answer = app.graphql(login, variables.clone()).await;
            signed_in.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer
        }));
        let read_while_they_wait = async {
            // Until at least four sign-ins wait, for a slot or for the password pool.
            loop {
                let scraped = scrape(&app).await;
                let waiting = value(&scraped, "careergraph_operations", &[("state", "waiting")])
                    + value(&scraped, "careergraph_password_hash_queue", &[]);
                if waiting >= 4.0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            app.query_ok("{ careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
            signed_in.load(std::sync::atomic::Ordering::SeqCst)
        };
        let (answers, signed_in_before_the_read) = tokio::join!(sign_ins, read_while_they_wait);
        for answer in answers {
            assert!(answer["data"]["login"]["accessToken"].is_string(), "every sign-in succeeds: {answer}");
        }
        // Had the queued sign-ins held the one slot, the read would have come after at least
        // five of them (the four waiting and the one being checked).
        assert!(
            signed_in_before_the_read <= 3,
            "the read waited for {signed_in_before_the_read} sign-ins' password checks"
        );
    }
}
