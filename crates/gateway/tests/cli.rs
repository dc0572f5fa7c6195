//! The `careergraph` binary as a user runs it.

use std::process::{Command, Output};

fn careergraph(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_careergraph"))
        .args(args)
        .env_remove("CAREERGRAPH_DATABASE_URL")
        .env("CAREERGRAPH_DATA_DIR", data_dir)
        .env("CAREERGRAPH_LOG", "info")
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn schema_prints_exactly_the_committed_schema_graphql() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = careergraph(&["schema"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema.graphql")).expect("schema.graphql");
    assert!(String::from_utf8_lossy(&output.stdout) == committed, "schema.graphql differs from `careergraph schema`");
}

#[test]
fn seeding_twice_adds_nothing_the_second_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = careergraph(&["seed"], dir.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).contains("career_paths: 1"), "{}", stderr(&first));
    let second = careergraph(&["seed"], dir.path());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("nothing added"), "{}", stderr(&second));
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output =
        careergraph(&["--database-url", "postgres://careergraph:secret@127.0.0.1:1/none", "migrate"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let last = message.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("careergraph: cannot open the database at postgres://careergraph:***@127.0.0.1:1/none"),
        "{message}"
    );
    assert!(!message.contains("secret") && !message.contains("panicked"), "{message}");
}

#[test]
fn a_data_directory_that_cannot_be_written_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").expect("a file");
    let data_dir = file.join("data");
    let output = careergraph(&["serve", "--listen", "127.0.0.1:0"], &data_dir);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    let expected = format!("careergraph: cannot write the data directory {}", data_dir.display());
    assert!(message.lines().last().unwrap_or_default().starts_with(&expected), "{message}");
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn a_port_in_use_stops_the_start_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("address").to_string();
    let output = careergraph(&["serve", "--listen", &address], dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains(&format!("careergraph: cannot listen on {address}")), "{}", stderr(&output));
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = careergraph(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in ["CAREERGRAPH_LISTEN", "CAREERGRAPH_DATABASE_URL", "CAREERGRAPH_DATA_DIR", "CAREERGRAPH_MAX_DEPTH"]
    {
        assert!(help.contains(variable), "--help does not mention {variable}:\n{help}");
    }
    for command in ["serve", "migrate", "seed", "schema"] {
        assert!(help.contains(command), "--help does not mention {command}");
    }
}
