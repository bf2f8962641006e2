fn main() -> std::process::ExitCode {
    photo_sim::cli::main()
}
