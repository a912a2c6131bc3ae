//! The `pushfeed` binary: parses the command line and reports errors as one plain sentence.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = pushfeed::cli::Cli::parse();
    match pushfeed::cli::main_with(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushfeed: {}", pushfeed::cli::describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
