//! The `photo-sim` binary: the command line, the benchmarks, and the desktop app when run
//! with no command.

mod bench;
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
