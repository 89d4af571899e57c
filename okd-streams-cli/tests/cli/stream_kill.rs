//! `okd-streams stream run FILE --once`, killed with SIGKILL at random points (ten times,
//! seeded), converges on the same releases (versions and digests) and promotions as an
//! uninterrupted run: no duplicate release, no double promotion.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Upstream releases the stream goes through.
const ROUNDS: u32 = 3;
/// Kills over the whole scenario.
const KILLS: u32 = 10;

/// Runs `stream run --once` until it exits on its own; before that, kills it after each of
/// `kill_after` delays (a run that ends first ends the round). Returns how many runs were killed
/// and how long the last, uninterrupted run took.
fn run_round(file: &Path, kill_after: &[Duration]) -> (u32, Duration) {
    let file = file.to_str().unwrap();
    let mut killed = 0;
    for delay in kill_after {
        let mut child = common::cli()
            .args(["stream", "run", file, "--once"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                return (killed, start.elapsed());
            }
            if start.elapsed() >= *delay {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    // The runs that follow the kills must converge. A run cut short can leave a retry whose
    // backoff ends after the next `--once` returns, so allow a few runs, each until idle.
    let start = Instant::now();
    for _ in 0..3 {
        common::run_ok(&["stream", "run", file, "--once"]);
        let status = common::run_ok(&["stream", "status", file]);
        let status = String::from_utf8_lossy(&status.stdout).to_string();
        if !status.contains("Pending") && !status.contains("Ready") {
            break;
        }
    }
    (killed, start.elapsed())
}

/// Runs the rounds; with `kills`, kills runs at random points within each round's reference
/// duration. Returns the kills, the duration of each round, and the outcome.
async fn scenario(
    dir: &Path,
    kills: Option<(&mut ChaCha8Rng, &[Duration])>,
) -> (u32, Vec<Duration>, common::Outcome, String) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let file = common::write_stream_file(dir, &format!("oci:{}/store", dir.display()));
    let mut payload = common::upstream(dir, 1).await;
    let mut rng = kills;
    let mut total = 0;
    let mut durations = Vec::new();
    for round in 1..=ROUNDS {
        if round > 1 {
            payload = common::advance(dir, &payload, round).await;
        }
        let delays: Vec<Duration> = match rng.as_mut() {
            Some((r, reference)) => {
                let n = KILLS / ROUNDS + u32::from(round <= KILLS % ROUNDS);
                let whole = reference[round as usize - 1].as_millis() as u64;
                // Each resumed run has less left to do: kill within the first half.
                (0..n)
                    .map(|_| Duration::from_millis(r.random_range(5..(whole / 2).max(10))))
                    .collect()
            }
            None => Vec::new(),
        };
        let (k, took) = run_round(&file, &delays);
        total += k;
        durations.push(took);
    }
    // Status shows the digests the stream's ledger recorded, and every job's state.
    let status = common::run_ok(&["stream", "status", file.to_str().unwrap()]);
    let status = String::from_utf8_lossy(&status.stdout).to_string();
    (total, durations, common::outcome(dir), status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runs_converge_on_the_uninterrupted_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    // Both runs use the same directory: release images record where their upstream was read.
    let dir = tmp.path().join("stream");

    let (_, durations, expected, expected_status) = scenario(&dir, None).await;
    let (releases, published) = &expected;
    assert_eq!(releases.len(), ROUNDS as usize, "{releases:?}");
    assert!(releases.iter().all(|r| r.1 == "Accepted"), "{releases:?}");
    let names: Vec<&str> = releases.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "4.19.0-okd-scos.1",
            "4.19.0-okd-scos.2",
            "4.19.0-okd-scos.3"
        ]
    );
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(
        published.iter().all(|p| p.1 == "4.19.0-okd-scos.3"),
        "{published:?}"
    );

    let mut rng = ChaCha8Rng::seed_from_u64(0x0c0ffee);
    let (killed, _, interrupted, status) = scenario(&dir, Some((&mut rng, &durations))).await;
    eprintln!("{killed} of {KILLS} runs were killed while still going");
    assert!(
        killed >= KILLS / 2,
        "only {killed} of {KILLS} runs were still going when killed"
    );
    assert_eq!(interrupted, expected);

    assert_eq!(status, expected_status);
    assert_eq!(
        status.matches("sha256:").count(),
        ROUNDS as usize,
        "{status}"
    );
    assert_eq!(
        status.matches("Accepted").count(),
        ROUNDS as usize,
        "{status}"
    );
}
