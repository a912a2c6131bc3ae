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
    let cli = pushfeed::cli::Cli::parse();
    match pushfeed::cli::main_with(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pushfeed: {}", pushfeed::cli::describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
