//! What careergraph's test suites share, in a crate of its own so that every crate's tests may
//! depend on it (the domain crate's unit tests, the gateway's process tests, the black-box
//! suite): a PostgreSQL database of a test's own. It depends on no careergraph crate, so that the
//! domain crate can use it in its own tests.

/// A PostgreSQL database of the test's own on the server `TEST_DATABASE_URL` names, dropped
/// when the value is (pass or fail).
pub struct FreshDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl FreshDatabase {
    /// Creates `<prefix>_<uuid>`.
    pub async fn create(admin_url: &str, prefix: &str) -> Self {
        use sea_orm::ConnectionTrait;
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.expect("TEST_DATABASE_URL is reachable");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("a database");
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url).expect("a URL");
        url.set_path(&name);
        Self { admin_url: admin_url.to_owned(), name, url: url.to_string() }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; a thread can.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                use sea_orm::ConnectionTrait;
                let admin = sea_orm::Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
