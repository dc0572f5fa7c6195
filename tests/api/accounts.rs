//! Accounts and sessions over HTTP: registering, signing in, rotating refresh tokens, revoking.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, first_error_code, spawn_app_with};
use crate::on_every_backend;

const SESSION_FIELDS: &str =
    "accessToken tokenType accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email role }";

impl TestApp {
    async fn register(&self, email: &str) -> Value {
        let query = format!("mutation ($input: RegisterInput!) {{ register(input: $input) {{ {SESSION_FIELDS} }} }}");
        let data = self
            .query_ok(&query, json!({ "input": { "email": email, "password": PASSWORD, "displayName": "Ada" } }))
            .await;
        data["register"].clone()
    }

    async fn login(&self, email: &str, password: &str) -> Value {
        let query = format!("mutation ($input: LoginInput!) {{ login(input: $input) {{ {SESSION_FIELDS} }} }}");
        self.graphql(&query, json!({ "input": { "email": email, "password": password } })).await
    }

    async fn refresh(&self, refresh_token: &Value) -> Value {
        let query = format!(
            "mutation ($t: String!) {{ refreshSession(input: {{ refreshToken: $t }}) {{ {SESSION_FIELDS} }} }}"
        );
        self.graphql(&query, json!({ "t": refresh_token })).await
    }

    async fn me(&self, token: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.post_bearer(token, "{ me { email role displayName } }", json!({})).await;
        (status, body)
    }
}

fn token(session: &Value, field: &str) -> String {
    session[field].as_str().unwrap_or_else(|| panic!("no {field} in {session}")).to_owned()
}

on_every_backend! {
    async fn a_new_user_registers_signs_in_and_sees_themself(app) {
        let registered = app.register("Ada@Example.com").await;
        assert_eq!(registered["user"]["email"], "ada@example.com");
        assert_eq!(registered["user"]["role"], "VIEWER");
        assert_eq!(registered["tokenType"], "Bearer");

        let login = app.login("ada@example.com", PASSWORD).await;
        assert!(login.get("errors").is_none(), "{login}");
        let access = token(&login["data"]["login"], "accessToken");
        let (status, me) = app.me(&access).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["data"]["me"], json!({ "email": "ada@example.com", "role": "VIEWER", "displayName": "Ada" }));
    }

    async fn me_without_a_token_is_null_with_unauthenticated(app) {
        let body = app.graphql("{ me { email } careerPath(slug: \"backend-developer\") { title } }", json!({})).await;
        assert_eq!(body["data"]["me"], Value::Null);
        assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
        assert_eq!(body["data"]["careerPath"]["title"], "Backend Developer", "the rest of the response is kept");
    }

    async fn unknown_email_and_wrong_password_give_the_same_error(app) {
        app.register("ada@example.com").await;
        let unknown = app.login("nobody@example.com", PASSWORD).await;
        let wrong = app.login("ada@example.com", "not the password 1").await;
        assert_eq!(first_error_code(&unknown), "UNAUTHENTICATED");
        assert_eq!(unknown["errors"][0]["message"], wrong["errors"][0]["message"]);
        assert_eq!(unknown["errors"][0]["extensions"], wrong["errors"][0]["extensions"]);
    }

    async fn registration_validates_its_input(app) {
        app.register("ada@example.com").await;
        let query = "mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }";
        let cases = [
            (json!({ "email": "ada@example.com", "password": PASSWORD, "displayName": "Ada" }), "CONFLICT", "email"),
            (json!({ "email": "not-an-email", "password": PASSWORD, "displayName": "Ada" }), "BAD_USER_INPUT", "email"),
            (json!({ "email": "bo@example.com", "password": "short", "displayName": "Bo" }), "BAD_USER_INPUT", "password"),
            (json!({ "email": "bo@example.com", "password": "password123", "displayName": "Bo" }), "BAD_USER_INPUT", "password"),
            (json!({ "email": "bo@example.com", "password": "x".repeat(129), "displayName": "Bo" }), "BAD_USER_INPUT", "password"),
            (json!({ "email": "bo@example.com", "password": PASSWORD, "displayName": "  " }), "BAD_USER_INPUT", "displayName"),
        ];
        for (input, code, field) in cases {
            let body = app.graphql(query, json!({ "input": input })).await;
            assert_eq!(first_error_code(&body), code, "{input}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body}");
        }
    }

    async fn a_refresh_rotates_both_tokens(app) {
        let first = app.register("ada@example.com").await;
        let second = app.refresh(&first["refreshToken"]).await;
        assert!(second.get("errors").is_none(), "{second}");
        let second = &second["data"]["refreshSession"];
        assert_ne!(second["refreshToken"], first["refreshToken"]);
        assert_eq!(second["refreshTokenExpiresAt"], first["refreshTokenExpiresAt"], "rotation does not extend the session");
        let (status, me) = app.me(&token(second, "accessToken")).await;
        assert_eq!((status, &me["data"]["me"]["email"]), (StatusCode::OK, &json!("ada@example.com")));
        let third = app.refresh(&second["refreshToken"]).await;
        assert!(third.get("errors").is_none(), "{third}");
    }

    async fn reusing_a_spent_refresh_token_ends_the_whole_session(app) {
        let first = app.register("ada@example.com").await;
        let second = app.refresh(&first["refreshToken"]).await["data"]["refreshSession"].clone();
        let replay = app.refresh(&first["refreshToken"]).await;
        assert_eq!(first_error_code(&replay), "UNAUTHENTICATED");
        let after = app.refresh(&second["refreshToken"]).await;
        assert_eq!(first_error_code(&after), "UNAUTHENTICATED", "the rotated token died with its family: {after}");
    }

    async fn concurrent_refreshes_with_one_token_yield_at_most_one_session(app) {
        let first = app.register("ada@example.com").await;
        let attempts = futures::future::join_all((0..8).map(|_| app.refresh(&first["refreshToken"]))).await;
        let winners = attempts.iter().filter(|body| body.get("errors").is_none()).count();
        assert!(winners <= 1, "{winners} refreshes succeeded");
    }

    async fn logout_ends_the_session(app) {
        let session = app.register("ada@example.com").await;
        let query = "mutation ($t: String!) { logout(input: { refreshToken: $t }) { loggedOut } }";
        let data = app.query_ok(query, json!({ "t": session["refreshToken"] })).await;
        assert_eq!(data["logout"]["loggedOut"], true);
        assert_eq!(first_error_code(&app.refresh(&session["refreshToken"]).await), "UNAUTHENTICATED");
        let unknown = app.query_ok(query, json!({ "t": "cgr_not-a-token" })).await;
        assert_eq!(unknown["logout"]["loggedOut"], true, "unknown tokens tell nothing");
    }

    async fn a_password_change_ends_every_other_session_and_token(app) {
        let first = app.register("ada@example.com").await;
        let other = app.login("ada@example.com", PASSWORD).await["data"]["login"].clone();
        let query = format!("mutation ($input: ChangePasswordInput!) {{ changePassword(input: $input) {{ {SESSION_FIELDS} }} }}");
        let new_password = "amber lighthouse 77";
        let (status, _, changed) = app
            .post_bearer(&token(&first, "accessToken"), &query, json!({ "input": { "currentPassword": PASSWORD, "newPassword": new_password } }))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(changed.get("errors").is_none(), "{changed}");
        let fresh = &changed["data"]["changePassword"];

        for old_access in [token(&first, "accessToken"), token(&other, "accessToken")] {
            assert_eq!(app.me(&old_access).await.0, StatusCode::UNAUTHORIZED);
        }
        for old_refresh in [&first["refreshToken"], &other["refreshToken"]] {
            assert_eq!(first_error_code(&app.refresh(old_refresh).await), "UNAUTHENTICATED");
        }
        assert_eq!(app.me(&token(fresh, "accessToken")).await.0, StatusCode::OK);
        assert_eq!(first_error_code(&app.login("ada@example.com", PASSWORD).await), "UNAUTHENTICATED");
        assert!(app.login("ada@example.com", new_password).await.get("errors").is_none());
    }

    async fn a_password_change_needs_the_current_password_and_a_good_new_one(app) {
        let session = app.register("ada@example.com").await;
        let query = "mutation ($input: ChangePasswordInput!) { changePassword(input: $input) { accessToken } }";
        let access = token(&session, "accessToken");
        let (_, _, wrong) = app.post_bearer(&access, query, json!({ "input": { "currentPassword": "nope nope 1", "newPassword": "amber lighthouse 77" } })).await;
        assert_eq!(first_error_code(&wrong), "UNAUTHENTICATED");
        let (_, _, weak) = app.post_bearer(&access, query, json!({ "input": { "currentPassword": PASSWORD, "newPassword": "password1" } })).await;
        assert_eq!(first_error_code(&weak), "BAD_USER_INPUT");
        assert_eq!(weak["errors"][0]["extensions"]["field"], "newPassword");
        let anonymous = app.graphql(query, json!({ "input": { "currentPassword": PASSWORD, "newPassword": "amber lighthouse 77" } })).await;
        assert_eq!(first_error_code(&anonymous), "UNAUTHENTICATED");
    }

    async fn an_invalid_bearer_token_fails_the_whole_request_with_401(app) {
        let session = app.register("ada@example.com").await;
        let refresh_as_access = token(&session, "refreshToken");
        for bad in ["garbage", "a.b.c", refresh_as_access.as_str()] {
            let (status, headers, body) = app.post_bearer(bad, "{ careerPaths { totalCount } }", json!({})).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
            let challenge = headers["www-authenticate"].to_str().expect("ascii");
            assert!(challenge.starts_with("Bearer") && challenge.contains("error=\"invalid_token\""), "{challenge}");
            assert_eq!(first_error_code(&body), "UNAUTHENTICATED");
            assert!(body.get("data").is_none(), "no data for a bad token: {body}");
        }
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .header("authorization", "Basic YWRhOnNlY3JldA==")
            .body(json!({ "query": "{ industries { slug } }" }).to_string())
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_jwks_lists_the_key_that_signs_tokens(app) {
        let session = app.register("ada@example.com").await;
        let jwks: Value = app.client.get(format!("{}/.well-known/jwks.json", app.address)).send().await.expect("answer").json().await.expect("json");
        let header = token(&session, "accessToken").split('.').next().map(str::to_owned).unwrap_or_default();
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&header).expect("base64url")).expect("a JSON header");
        let key = &jwks["keys"][0];
        assert_eq!((key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()), (Some("OKP"), Some("Ed25519"), Some("EdDSA")));
        assert_eq!(key["kid"], header["kid"]);
        assert_eq!(header["alg"], "EdDSA");
        assert!(key.get("d").is_none(), "no private part");
    }
}

on_every_backend! {
    async fn disabled_users_can_neither_sign_in_nor_refresh(backend: Backend) {
        // No user cache: a change made straight in the database applies to the next request.
        let app = spawn_app_with(backend, |config| config.user_cache_secs = 0).await;
        let session = app.register("ada@example.com").await;
        let user =
            careergraph_domain::accounts::user_by_email(app.db(), "ada@example.com").await.expect("db").expect("user");
        careergraph_domain::accounts::disable(app.db(), &careergraph_domain::audit::Actor::default(), user.id)
            .await
            .expect("disable");
        assert_eq!(first_error_code(&app.login("ada@example.com", PASSWORD).await), "UNAUTHENTICATED");
        assert_eq!(first_error_code(&app.refresh(&session["refreshToken"]).await), "UNAUTHENTICATED");
        assert_eq!(app.me(&token(&session, "accessToken")).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn failed_sign_ins_back_off_then_recover(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.login_free_failures = 2).await;
        app.register("ada@example.com").await;
        for _ in 0..3 {
            assert_eq!(first_error_code(&app.login("ada@example.com", "wrong password 1").await), "UNAUTHENTICATED");
        }
        // The third failure locked the account for one second: even the right password waits.
        let limited = app.login("ada@example.com", PASSWORD).await;
        assert_eq!(first_error_code(&limited), "RATE_LIMITED");
        assert!(limited["errors"][0]["extensions"]["retryAfterSeconds"].as_u64().is_some_and(|secs| secs >= 1));
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let recovered = app.login("ada@example.com", PASSWORD).await;
        assert!(recovered.get("errors").is_none(), "the owner gets back in: {recovered}");
    }

    async fn closed_registration_is_forbidden(backend: Backend) {
        let app = spawn_app_with(backend, |config| config.open_registration = false).await;
        let body = app
            .graphql(
                "mutation { register(input: { email: \"ada@example.com\", password: \"violet staircase 42\", displayName: \"Ada\" }) { accessToken } }",
                json!({}),
            )
            .await;
        assert_eq!(first_error_code(&body), "FORBIDDEN");
    }
}
