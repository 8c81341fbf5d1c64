kfpguard::use_kfpguard_allocator!();

fn main() -> std::process::ExitCode {
    kfpguard::cli::main()
}
