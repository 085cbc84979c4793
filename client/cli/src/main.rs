//! The `wsman` command-line client; see `wsman --help` and
//! `shared/docs/cli.md`. The work lives in the `wsman_cli` library; this only turns
//! its result into an exit code.
#![forbid(unsafe_code)]

fn main() {
    let cli = match wsman_cli::parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("wsman: {}", wsman_cli::sanitize::error_text(&e.to_string()));
            std::process::exit(wsman_cli::exit_code(&e));
        }
    };
    // One host: one thread. The command and the connection task it reads
    // answers from then share it, instead of waking each other across
    // threads for every piece of a large answer (a tenth of the client's
    // CPU per output object in `tests/bench/volume.sh`). A fan-out to
    // several hosts keeps a worker per core.
    let mut builder = if cli.connection.hosts.len() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsman: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(wsman_cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Fault texts come from the host: cut and escaped.
            eprintln!("wsman: {}", wsman_cli::describe(&e));
            wsman_cli::exit_code(&e)
        }
    };
    drop(runtime);
    std::process::exit(code);
}
