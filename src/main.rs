//! The `pushfeed` binary: parses the command line and reports errors as one plain sentence.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, which turns `pushfeed sql ... | head` into a panic on the next print;
    // a command-line tool should end quietly when its reader goes away.
    // SAFETY: only restores the default disposition of one signal, before anything is printed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Some(sentence) = pushfeed::cli::empty_env_variable() {
        eprintln!("pushfeed: {sentence}");
        return std::process::ExitCode::from(2);
    }
    let cli = match pushfeed::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A value outside its range gets one sentence naming the flag and the range, like every
        // other refusal, rather than clap's usage block.
        Err(e) if e.kind() == clap::error::ErrorKind::ValueValidation => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!("pushfeed: {}", first.trim_start_matches("error: "));
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match pushfeed::cli::main_with(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushfeed: {}", pushfeed::cli::describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
