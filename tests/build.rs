//! Compiles the PostgreSQL variant of every black-box test only as `ignored` when
//! `TEST_DATABASE_URL` is unset, so a run without PostgreSQL says so in its summary.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
