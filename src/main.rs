//! The `auditrail` binary: thin glue over the library (see `auditrail::pipeline`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing::{error, info};

use auditrail::config::Config;
use auditrail::{hook_cmd, parse_cmd, pipeline, systemd, validate};

/// See the `mimalloc` entry in Cargo.toml: a third of the process stage was glibc malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "auditrail",
    version,
    about = "Turns a host's audit trail into enriched, tamper-evident events for a SIEM",
    after_help = "Examples:\n  auditrail run --config /etc/auditrail/auditrail.toml\n  auditrail parse /var/log/audit/audit.log\n  ausearch --raw | auditrail parse -"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Agent hook (PreToolUse/PostToolUse): read the hook JSON on stdin, append one verdict line
    /// (decision `allow`: it records, it does not decide). Prints nothing; always exits 0.
    #[command(
        after_help = "In /etc/claude-code/managed-settings.json (see docs/hooks.md):\n  {\"hooks\": {\"PreToolUse\": [{\"matcher\": \"*\", \"hooks\": [{\"type\": \"command\",\n    \"command\": \"/usr/local/bin/auditrail hook --config /etc/auditrail/auditrail.toml\"}]}]}}"
    )]
    Hook {
        /// Verdict log [default: `[hook] log` of --config, else /var/log/auditrail/hook-verdicts.log]
        #[arg(long)]
        log: Option<PathBuf>,
        /// Hook name written in the verdict [default: `[hook] name`, else audit-log]
        #[arg(long)]
        name: Option<String>,
        /// The daemon's configuration file, for its `[hook]` and `[redaction]` sections.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the daemon: tail the configured sources and ship events to the sinks.
    #[command(after_help = "Example:\n  auditrail run --config config/demo.toml")]
    Run {
        /// Configuration file (TOML).
        #[arg(long, short, default_value = "/etc/auditrail/auditrail.toml")]
        config: PathBuf,
        /// How long a shutdown may wait for sinks to deliver what is in flight.
        #[arg(long, default_value = "10")]
        shutdown_timeout_secs: u64,
        /// Exit once every input file has been read to its end and delivered (backfill,
        /// benchmarks) instead of tailing.
        #[arg(long)]
        once: bool,
    },
    /// Check a configuration file and report every problem at once, each with
    /// file:line:column: unknown keys, wrong types, impossible values, unreadable paths, sink
    /// names.
    #[command(
        after_help = "Exit status:\n  0  valid (and, with --check-sinks, every sink healthy)\n  1  invalid configuration\n  2  the file cannot be read\n  3  valid, but a sink's health check failed (--check-sinks)\n\nExamples:\n  auditrail validate --config /etc/auditrail/auditrail.toml\n  auditrail validate --config config/demo.toml --check-sinks"
    )]
    Validate {
        /// Configuration file (TOML).
        #[arg(long, short, default_value = "/etc/auditrail/auditrail.toml")]
        config: PathBuf,
        /// Also run each configured sink's health check (writes a probe file, calls AWS).
        #[arg(long)]
        check_sinks: bool,
    },
    /// Parse log files (audit, syslog, hook verdicts) and print one JSON object per line.
    #[command(
        after_help = "Examples:\n  auditrail parse /var/log/audit/audit.log /var/log/messages\n  tail -f /var/log/audit/audit.log | auditrail parse -"
    )]
    Parse {
        /// Files to parse; `-` reads stdin.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a deterministic, realistic workload (audit.log, messages, hook verdicts).
    #[command(after_help = "Example:\n  auditrail generate --out /tmp/work --size 100MB --seed 7")]
    Generate {
        /// Output directory (created).
        #[arg(long)]
        out: PathBuf,
        /// Approximate size of audit.log (`100MB`, `512KiB`, …).
        #[arg(long, default_value = "10MB")]
        size: String,
        #[arg(long, default_value = "1")]
        seed: u64,
        /// Share of events carrying a 16 KiB split hex argument (`0.01` = 1%, the default mix).
        #[arg(long, default_value = "0.01")]
        long_arg_fraction: f64,
    },
}

fn main() -> ExitCode {
    // `auditrail hook` runs before every agent tool call: no clap, no tracing, always exit 0 (a
    // hook's non-zero exit can block the tool call). Only `--help` goes through clap.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "hook") && !args.iter().any(|a| a == "-h" || a == "--help")
    {
        hook_cmd::run(&args[2..], std::io::stdin().lock(), &mut std::io::stderr());
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Hook { log, name, config } => {
            let mut args = Vec::new();
            let flags = [
                ("--log", log),
                ("--name", name.map(PathBuf::from)),
                ("--config", config),
            ];
            for (flag, value) in flags {
                if let Some(v) = value {
                    args.push(flag.into());
                    args.push(v.into_os_string());
                }
            }
            hook_cmd::run(&args, std::io::stdin().lock(), &mut std::io::stderr());
            ExitCode::SUCCESS
        }
        Command::Parse { files } => match parse_cmd::run(&files) {
            Ok(summary) => {
                eprint!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("auditrail parse: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Validate {
            config,
            check_sinks,
        } => ExitCode::from(validate::run(
            &config,
            check_sinks,
            &mut std::io::stdout().lock(),
        )),
        Command::Run {
            config,
            shutdown_timeout_secs,
            once,
        } => run_daemon(
            &config,
            pipeline::RunOptions {
                shutdown_timeout: Duration::from_secs(shutdown_timeout_secs),
                stop_at_eof: once,
            },
        ),
        Command::Generate {
            out,
            size,
            seed,
            long_arg_fraction,
        } => match generate(&out, &size, seed, long_arg_fraction) {
            Ok(summary) => {
                eprintln!("{summary:#?}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("auditrail generate: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn generate(
    out: &std::path::Path,
    size: &str,
    seed: u64,
    long_arg_fraction: f64,
) -> std::io::Result<auditrail::workload::WorkloadSummary> {
    use auditrail::workload::{self, WorkloadConfig};
    use std::io::{BufWriter, Write};
    let bytes = workload::parse_byte_size(size).map_err(std::io::Error::other)?;
    let mut cfg = WorkloadConfig::with_audit_bytes(seed, bytes);
    cfg.mix.long_arg_fraction = long_arg_fraction;
    std::fs::create_dir_all(out)?;
    let create = |name: &str| std::fs::File::create(out.join(name)).map(BufWriter::new);
    let (mut audit, mut syslog, mut hooks) = (
        create("audit.log")?,
        create("messages")?,
        create("hook-verdicts.log")?,
    );
    let summary = workload::generate(&cfg, &mut audit, &mut syslog, &mut hooks)?;
    audit.flush()?;
    syslog.flush()?;
    hooks.flush()?;
    Ok(summary)
}

fn run_daemon(config: &std::path::Path, opts: pipeline::RunOptions) -> ExitCode {
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("shutdown requested: stop reading, flush, checkpoint");
            systemd::stopping("stopping: flushing sinks and saving checkpoints");
            let _ = stop_tx.send(true);
        });
        match pipeline::run(cfg, stop_rx, opts).await {
            Ok(summary) => {
                info!(
                    lines = summary.lines,
                    events = summary.events,
                    parse_errors = summary.parse_errors,
                    "stopped"
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                error!("{e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon still runs; it just cannot stop cleanly.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Diagnostics go to stderr (stdout may carry data), filtered by `RUST_LOG` (default `info`),
/// as JSON when `AUDITRAIL_LOG_FORMAT=json`.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("AUDITRAIL_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}
