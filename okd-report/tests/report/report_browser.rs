//! The report as a person sees it: headless Chromium opens the pages, and the tests read the
//! DOM it rendered and the screenshot it took.
//!
//! Needs Debian's `chromium` (`scripts/test` installs it; `CHROMIUM` names another binary).
//! With `OKD_STREAMS_SCREENSHOT=<file>` the index screenshot is also copied there
//! (`scripts/screenshot` makes `docs/report.png` this way).

use crate::report_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use report_support::{MINOR_SOURCE, fixture};

fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "Chromium is not installed: the report tests open the pages in headless Chromium. \
         Install it with `apt-get install -y chromium` (scripts/test does), or set CHROMIUM."
    );
}

/// Runs headless Chromium with `args` on `page`, killing it after two minutes.
fn run_chromium(page: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "chromium did not finish within two minutes on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dump_dom(page: &Path) -> String {
    let dom = run_chromium(page, &["--dump-dom".to_string()]);
    assert!(dom.contains("</html>"), "no DOM: {dom}");
    dom
}

/// The rendered rows of the releases table, in page order, as (release, row DOM).
fn rows(dom: &str) -> Vec<(String, String)> {
    dom.split("<tr class=\"release\"")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").unwrap()];
            let name = row.split("data-release=\"").nth(1).unwrap();
            (name[..name.find('"').unwrap()].to_string(), row.to_string())
        })
        .collect()
}

#[tokio::test]
async fn index_shows_releases_jobs_and_the_upgrade_graph() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    okd_report::write(&f.model, dir.path()).unwrap();
    let dom = dump_dom(&dir.path().join("index.html"));

    // Releases newest first, each with its phase badge.
    let rows = rows(&dom);
    let shown: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    let newest_first: Vec<&str> = f.names.iter().rev().map(String::as_str).collect();
    assert_eq!(shown, newest_first);
    for ((name, row), phase) in rows.iter().zip(f.phases.iter().rev()) {
        let label = format!("{phase:?}");
        let badge = format!(
            "<span class=\"badge phase-{}\">{label}</span>",
            label.to_lowercase()
        );
        assert!(row.contains(&badge), "{name}: no {badge} in {row}");
        assert!(row.contains(&format!(">{name}</a>")), "{name}");
    }
    assert!(dom.contains(">3 Accepted</span>"), "phase counts");
    assert!(dom.contains(">1 Rejected</span>"));

    // Jobs and their results: the rejected release's blocking job failed three times.
    let (_, rejected) = &rows[3];
    assert!(
        rejected
            .contains("aws <span class=\"state\">✗ Failed</span><span class=\"muted\">×3</span>"),
        "{rejected}"
    );
    assert!(rejected.contains("blocking job aws: Failed, 3 attempts"));
    assert!(rejected.contains("informing job gcp: Succeeded, 1 attempt"));
    assert!(rejected.contains(&format!("since <span class=\"mono\">{}</span>", f.names[1])));
    let c = &f.changes[2];
    let summary: Vec<String> = [
        (c.changed.len(), "changed"),
        (c.rebuilt.len(), "rebuilt"),
        (c.added.len(), "added"),
        (c.removed.len(), "removed"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let summary = format!(">{}</a>", summary.join(" · "));
    assert!(rejected.contains(&summary), "{summary}: {rejected}");
    let (_, ready) = &rows[1];
    assert!(
        ready.contains("aws <span class=\"state\">… Pending</span>"),
        "{ready}"
    );
    let (_, pending) = &rows[0];
    assert!(pending.contains("○ Not started"), "{pending}");
    assert!(
        pending.contains("<span class=\"muted\">—</span>"),
        "no diff for the pending release"
    );

    // Upgrades into the newest accepted release: one of each from 4.18.
    let (_, accepted) = &rows[2];
    assert!(accepted.contains(MINOR_SOURCE));
    assert!(
        accepted.contains("<span class=\"ok\">✓1</span> <span class=\"bad\">✗1</span>"),
        "{accepted}"
    );

    // The graph: a node per release (and the 4.18 source), an arc per edge.
    let svg = &dom[dom.find("<svg").expect("an svg")..dom.find("</svg>").unwrap()];
    assert_eq!(svg.matches("<g class=\"node ").count(), f.names.len() + 1);
    assert_eq!(svg.matches("<g class=\"node node-accepted\"").count(), 3);
    assert_eq!(svg.matches("<g class=\"node node-external\"").count(), 1);
    assert_eq!(svg.matches("<g class=\"edge ").count(), f.model.edges.len());
    assert_eq!(svg.matches("<g class=\"edge edge-failure\"").count(), 1);
    assert_eq!(svg.matches("<g class=\"edge edge-mixed\"").count(), 1);
    for name in &f.names {
        assert!(svg.contains(&format!(">{name}</text>")), "node {name}");
    }
    // Nodes link to the release pages.
    let page = okd_report::page_name(&f.names[2]);
    assert!(svg.contains(&format!("<a href=\"{page}\">")), "{svg}");
}

#[tokio::test]
async fn release_page_shows_attempts_logs_and_changes() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    okd_report::write(&f.model, dir.path()).unwrap();
    let name = &f.names[1];
    let dom = dump_dom(&dir.path().join(okd_report::page_name(name)));
    assert!(dom.contains(&format!("<h1><span class=\"mono\">{name}</span> <span class=\"badge phase-accepted\">Accepted</span></h1>")), "{dom}");
    // A blocking job that passed on its retry, with a link to each attempt's log.
    let blocking = &dom[dom.find("Blocking jobs").unwrap()..dom.find("Informing jobs").unwrap()];
    assert!(blocking.contains("data-job=\"aws\""));
    assert!(blocking.contains(&format!("{name}-aws</span>")));
    assert!(blocking.contains(&format!("{name}-aws-1</span>")));
    assert_eq!(
        blocking
            .matches("<a class=\"log\" href=\"https://prow.ci.openshift.org/view/gs/test-platform-results/logs/")
            .count(),
        2
    );
    assert!(blocking.contains("1h 37m"), "run durations: {blocking}");
    let informing = &dom[dom.find("Informing jobs").unwrap()..dom.find("id=\"upgrades\"").unwrap()];
    assert!(informing.contains("data-job=\"gcp\""));
    assert!(informing.contains("✗ Failed"));
    // Upgrades into and out of it.
    let upgrades = &dom[dom.find("id=\"upgrades\"").unwrap()..dom.find("id=\"changes\"").unwrap()];
    assert!(
        upgrades.contains(&f.names[0]) && upgrades.contains(&f.names[2]),
        "{upgrades}"
    );
    // What changed since the release before: exactly the components testkit changed.
    let changes = &dom[dom.find("id=\"changes\"").unwrap()..];
    assert!(
        changes.contains(&format!(
            "Changes from <a class=\"mono\" href=\"{}\">{}</a>",
            okd_report::page_name(&f.names[0]),
            f.names[0]
        )),
        "{changes}"
    );
    let c = &f.changes[1];
    assert!(changes.contains(&format!("Changed ({})", c.changed.len())));
    assert!(changes.contains(&format!("Rebuilt ({})", c.rebuilt.len())));
    assert!(changes.contains(&format!("Added ({})", c.added.len())));
    for component in c.changed.iter().chain(&c.rebuilt).chain(&c.added) {
        assert!(
            changes.contains(&format!("<td class=\"mono\">{component}</td>")),
            "{component}"
        );
    }
    assert!(changes.contains("<summary>Full text</summary>"));
}

/// The PNG's size and how many distinct colours it has.
fn png_facts(bytes: &[u8]) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let colours: std::collections::BTreeSet<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    (info.width, info.height, colours.len())
}

#[tokio::test]
async fn screenshot_shows_a_rendered_page() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    okd_report::write(&f.model, &site).unwrap();
    let shot = dir.path().join("report.png");
    run_chromium(
        &site.join("index.html"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,1100".to_string(),
        ],
    );
    let bytes = std::fs::read(&shot).expect("chromium wrote no screenshot");
    let (w, h, colours) = png_facts(&bytes);
    assert_eq!((w, h), (1400, 1100));
    // Text, badges and coloured arcs: far more than a blank or single-colour page.
    assert!(colours > 200, "{colours} colours");
    if let Ok(target) = std::env::var("OKD_STREAMS_SCREENSHOT") {
        std::fs::copy(&shot, &target).unwrap();
    }
}
