fn main() -> std::process::ExitCode {
    kfpguard::cli::main()
}
