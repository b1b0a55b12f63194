//! The I/O of a rolling upgrade: each target upgraded through its control socket (or the
//! remote `batonctl` over `ssh`), its neighbors polled until healthy, then the settle time.
//! Targets in flight run on threads of their own; the calling thread schedules ([`Roll`]) and
//! prints.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{unhealthy, Options, Outcome, Roll, RollReport, Target};
use crate::ctl::{client, render, Line, NeighborView, Reply, Request, UpgradeView};

/// How often an upgraded target's neighbors are asked for.
const HEALTH_POLL: Duration = Duration::from_millis(500);

/// What a target's thread says: a step to print, or that it is done.
enum Note {
    Step {
        index: usize,
        json: Value,
        text: String,
    },
    Done {
        index: usize,
        outcome: Outcome,
    },
}

/// Runs the roll, handing each line to print (a JSON object with `json`, else text) to `print`
/// as it happens; returns the report, which is the caller's to print.
pub fn run(
    targets: &[Target],
    options: &Options,
    json: bool,
    mut print: impl FnMut(String),
) -> RollReport {
    let start = Instant::now();
    let ms = || start.elapsed().as_millis() as u64;
    let mut roll = Roll::new(targets, options);
    let (tx, rx) = mpsc::channel();
    loop {
        while let Some(index) = roll.start_next(ms()) {
            let (target, options, tx) = (targets[index].clone(), options.clone(), tx.clone());
            std::thread::spawn(move || {
                let say = |json: Value, text: String| {
                    let _ = tx.send(Note::Step { index, json, text });
                };
                let outcome = one_target(&target, &options, &say);
                let _ = tx.send(Note::Done { index, outcome });
            });
        }
        if roll.in_flight() == 0 {
            return roll.report();
        }
        match rx.recv() {
            Ok(Note::Step {
                index,
                json: mut object,
                text,
            }) => {
                let target = targets[index].to_string();
                print(if json {
                    if let Some(o) = object.as_object_mut() {
                        o.insert("target".into(), Value::String(target));
                        o.insert("roll_ms".into(), json!(ms()));
                    }
                    object.to_string() + "\n"
                } else {
                    format!("{target}: {text}\n")
                });
            }
            Ok(Note::Done { index, outcome }) => roll.finish(index, outcome, ms()),
            Err(_) => return roll.report(),
        }
    }
}

/// Upgrades one target, waits until it is healthy, lets it settle.
fn one_target(target: &Target, options: &Options, say: &dyn Fn(Value, String)) -> Outcome {
    say(json!({"phase": "upgrading"}), "upgrading".into());
    let view = match upgrade(target, options, say) {
        Ok(view) => view,
        Err(reason) => return Outcome::Failed { reason },
    };
    if !view.ok {
        let reason = view
            .reason
            .clone()
            .unwrap_or_else(|| "the upgrade failed".into());
        return if view.to_generation == view.from_generation {
            Outcome::RolledBack { reason }
        } else {
            Outcome::Failed { reason }
        };
    }
    say(
        json!({"phase": "upgraded", "generation": view.to_generation}),
        format!(
            "upgraded to generation {}; waiting until every peer is healthy",
            view.to_generation
        ),
    );
    if let Err(reason) = wait_healthy(target, options) {
        return Outcome::Failed { reason };
    }
    say(
        json!({"phase": "healthy", "settle_secs": options.settle_secs}),
        format!("healthy; settling {} s", options.settle_secs),
    );
    // The settle time is the operator's wish, not a synchronization: a plain wait.
    std::thread::sleep(Duration::from_secs(options.settle_secs));
    Outcome::Upgraded {
        from_version: view.from_version,
        to_version: view.to_version,
    }
}

/// Runs the upgrade, passing each step on; its report.
fn upgrade(
    target: &Target,
    options: &Options,
    say: &dyn Fn(Value, String),
) -> Result<UpgradeView, String> {
    let step = |event: Result<crate::ctl::UpgradeEvent, Value>| {
        let json = match &event {
            Ok(e) => serde_json::to_value(e).unwrap_or_default(),
            Err(v) => v.clone(),
        };
        let text = render::event_output(&event, false);
        say(json, text.trim_end().to_string());
    };
    let value = match target {
        Target::Socket(path) => {
            let request = Request::Upgrade {
                binary: options.binary.clone(),
                timeout_secs: options.timeout_secs,
                events: true,
            };
            let wait = Duration::from_secs(options.timeout_secs + 30);
            client::request_with_events(path, &request, wait, step).map_err(|e| e.to_string())?
        }
        Target::Ssh(_) => {
            let argv = target.upgrade_argv(options);
            let mut child = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run ssh: {e}"))?;
            let stdout = child.stdout.take().expect("piped");
            let mut report = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match Line::parse(&line) {
                    Ok(Line::Event(e)) => step(Ok(e)),
                    Ok(Line::Unknown(v)) => step(Err(v)),
                    Ok(Line::Reply(Reply::Ok(v))) => report = Some(v),
                    Ok(Line::Reply(Reply::Error { error })) => return Err(error),
                    Err(_) => {}
                }
            }
            let (status, stderr) = finish(child);
            report.ok_or_else(|| format!("remote batonctl gave no report ({status}): {stderr}"))?
        }
    };
    serde_json::from_value(value).map_err(|e| format!("unexpected upgrade report: {e}"))
}

/// Waits for a child, returning its exit status and the end of what it said on stderr.
fn finish(mut child: std::process::Child) -> (String, String) {
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child
        .wait()
        .map_or_else(|e| e.to_string(), |s| s.to_string());
    (status, stderr.trim().to_string())
}

/// The target's neighbors, now.
fn neighbors(target: &Target, options: &Options) -> Result<Vec<NeighborView>, String> {
    let value = match target {
        Target::Socket(path) => client::request(path, &Request::Neighbors, Duration::from_secs(30))
            .map_err(|e| e.to_string())?,
        Target::Ssh(_) => {
            let argv = target.neighbors_argv(options);
            let out = Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run ssh: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "remote batonctl neighbor: {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?
        }
    };
    serde_json::from_value(value).map_err(|e| format!("unexpected neighbor list: {e}"))
}

/// Polls the neighbors until every one is healthy, or the peer timeout runs out.
fn wait_healthy(target: &Target, options: &Options) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(options.peer_timeout_secs);
    loop {
        let problems = match neighbors(target, options) {
            Ok(views) => unhealthy(&views),
            Err(e) => vec![e],
        };
        if problems.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not healthy after {} s: {}",
                options.peer_timeout_secs,
                problems.join("; ")
            ));
        }
        std::thread::sleep(HEALTH_POLL);
    }
}
