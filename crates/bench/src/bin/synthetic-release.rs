//! Writes a full-size synthetic O*NET release and OEWS national file (see
//! `careergraph_domain::synthetic::release`), to measure imports on:
//!
//! ```text
//! cargo run --release -p careergraph-bench --bin synthetic-release -- /tmp/release
//! careergraph import onet /tmp/release/db_29_1_text
//! careergraph import oews /tmp/release/national_M2024_dl.csv
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Write a full-size synthetic O*NET release and OEWS national file.
#[derive(Parser)]
struct Args {
    /// The folder to write `db_29_1_text/` and `national_M2024_dl.csv` into.
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let files = careergraph_domain::synthetic::release::write_release(&args.out)
        .with_context(|| format!("cannot write the release into {}", args.out.display()))?;
    for (name, rows) in files {
        println!("{name}: {rows} rows");
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
