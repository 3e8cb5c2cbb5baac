//! `geneva witness`: an independent witness, run by a member organisation.
//! It follows a log, checks that each new checkpoint is signed by the log and
//! extends the last one it cosigned (C2SP tlog-witness's rule), and only then
//! returns a cosignature (C2SP tlog-cosignature) to the log. It refuses, and
//! says why, when the log shrank, forked or changed keys.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use geneva_log::key;
use geneva_log::verify::{self, VerifyError};
use geneva_tlog::{Checkpoint, KeyKind, Note, SigningKey, VerifierKey};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The witness's own cosigning key file (mode 0600).
    #[arg(long)]
    key: PathBuf,
    /// Create KEY as a new cosigning key with this name (e.g. witness.ch-ncsc.example/1) and print its public key.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["log", "log_key"])]
    init: Option<String>,
    /// The log's URL prefix, e.g. http://geneva.example:8080/log.
    #[arg(long, required_unless_present = "init")]
    log: Option<String>,
    /// The log's public key (name+id+base64), or a file holding it; repeat it
    /// while the log rotates keys.
    #[arg(long, required_unless_present = "init")]
    log_key: Vec<String>,
    /// Where the last cosigned checkpoint is kept (default: KEY.state).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Check and cosign once, then exit (0: cosigned or nothing new; 1: refused).
    #[arg(long)]
    once: bool,
    /// Seconds between polls.
    #[arg(long, default_value_t = 10)]
    interval: u64,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(name) = &args.init {
        let key = key::create(&args.key, name, KeyKind::Cosignature)?;
        println!("{}", key.verifier().to_text());
        eprintln!(
            "wrote {} (mode 0600); give the log's operators the public key above (`geneva log witness add …`)",
            args.key.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let key = key::load(&args.key)?;
    if key.kind() != KeyKind::Cosignature {
        bail!(
            "{} is not a cosigning key; create one with `geneva witness --init NAME --key FILE`",
            args.key.display()
        );
    }
    let mut log_key = Vec::new();
    for text in &args.log_key {
        let text = if Path::new(text).is_file() {
            std::fs::read_to_string(text)?
        } else {
            text.clone()
        };
        log_key.push(VerifierKey::parse(text.trim()).context("--log-key is not a public key")?);
    }
    let prefix = args
        .log
        .as_deref()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let state_path = args.state.clone().unwrap_or_else(|| {
        let mut p = args.key.clone().into_os_string();
        p.push(".state");
        PathBuf::from(p)
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    loop {
        match round(&client, &prefix, &log_key, &key, &state_path).await {
            Ok(Some(message)) => println!("{message}"),
            Ok(None) => {}
            Err(Refusal::Verify(e)) => {
                println!("REFUSED: {e}");
                return Ok(ExitCode::FAILURE);
            }
            Err(Refusal::Other(e)) => {
                if args.once {
                    return Err(e);
                }
                eprintln!("witness: {e:#}; trying again");
            }
        }
        if args.once {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

enum Refusal {
    /// The log misbehaved: never cosign, stop and tell.
    Verify(VerifyError),
    /// The network or a file failed: try again later.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Refusal {
    fn from(e: anyhow::Error) -> Self {
        Refusal::Other(e)
    }
}

fn last_cosigned(path: &Path) -> anyhow::Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let note = Note::parse(&bytes)
                .with_context(|| format!("{} is not a checkpoint", path.display()))?;
            Ok(Some(Checkpoint::parse_body(&note.text).with_context(
                || format!("{} is not a checkpoint", path.display()),
            )?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

async fn get_text(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {}", body.trim());
    }
    Ok(body)
}

async fn round(
    client: &reqwest::Client,
    prefix: &str,
    log_key: &[VerifierKey],
    key: &SigningKey,
    state_path: &Path,
) -> Result<Option<String>, Refusal> {
    let note = get_text(client, &format!("{prefix}/checkpoint")).await?;
    let last = last_cosigned(state_path)?;
    let served = verify::open_checkpoint(note.as_bytes(), log_key).map_err(Refusal::Verify)?;
    let size = served.checkpoint.size;
    if let Some(last) = &last
        && last.size == size
        && last.root == served.checkpoint.root
    {
        return Ok(None);
    }
    let proof = match &last {
        Some(last) if last.size > 0 && last.size < size => {
            let body = get_text(
                client,
                &format!("{prefix}/proof/consistency?old={}&new={size}", last.size),
            )
            .await?;
            let value: serde_json::Value =
                serde_json::from_str(&body).context("the consistency proof is not JSON")?;
            let list: Vec<String> =
                serde_json::from_value(value.get("proof").cloned().unwrap_or_default())
                    .context("the consistency proof has no proof list")?;
            verify::decode_proof(&list).map_err(Refusal::Verify)?
        }
        _ => Vec::new(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (checkpoint, signature) =
        verify::witness_checkpoint(last.as_ref(), note.as_bytes(), &proof, log_key, key, now)
            .map_err(Refusal::Verify)?;
    // Remember before sending: a witness must never cosign an older state after a newer one.
    let log_only = verify::with_signatures(&served.note.to_text(), &[]).map_err(Refusal::Verify)?;
    super::write_output(Some(state_path), log_only.trim_end().as_bytes())?;
    let cosigned =
        verify::with_signatures(&log_only, &[signature.to_line()]).map_err(Refusal::Verify)?;
    let url = format!("{prefix}/cosignatures");
    let response = client
        .post(&url)
        .header("content-type", "text/plain; charset=utf-8")
        .body(cosigned)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(Refusal::Other(anyhow::anyhow!(
            "POST {url}: {status}: {}",
            body.trim()
        )));
    }
    Ok(Some(format!(
        "cosigned checkpoint of {} leaves of log {}",
        checkpoint.size, checkpoint.origin
    )))
}
