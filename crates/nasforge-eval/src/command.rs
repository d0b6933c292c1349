//! Any training program as the evaluator: runs a user's command once per trial in its own working
//! directory, hands it the architecture, and reads its results as JSON lines from its standard output.
//!
//! Protocol. The command runs through `sh -c` in the code directory (where nasforge was started, unless
//! configured), with the trial's description (`{"space", "arch", "arch_json", "canonical", "trial", "seed",
//! "fidelity"}`) on its standard input and in the file `arch.json` of the trial's own directory
//! `<workdir>/trial-<id>`: `$NASFORGE_ARCH_FILE` names the file and `$NASFORGE_TRIAL_DIR` the directory
//! (for the program's outputs); `$NASFORGE_TRIAL`, `$NASFORGE_SEED` and `$NASFORGE_SPACE` are set too. Every line of its standard output that is a JSON object of numbers is a result:
//! the last one is the trial's final metrics, every earlier one an intermediate result (a learning-curve
//! point such as `{"epoch": 3, "val_accuracy": 0.91}`); other lines are ignored. A non-zero exit, a
//! timeout, or no JSON line at all fails the trial with the tail of the command's standard error.
//! The child runs in its own process group, which is killed on a timeout; it is also killed if the worker
//! thread that started it dies (Linux `PR_SET_PDEATHSIG`), so an interrupted nasforge leaves no orphans.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Reporter, SearchSpace};
use serde_json::{Value, json};

/// How much of a failed command's standard error is kept with the trial.
const STDERR_TAIL: usize = 2000;

/// Runs a command per trial.
#[derive(Debug, Clone)]
pub struct CommandEvaluator {
    /// The shell command line.
    pub command: String,
    /// The directory the command runs in.
    pub code_dir: PathBuf,
    /// Where each trial's own directory is made.
    pub workdir: PathBuf,
    /// Longest a trial may run.
    pub timeout: Option<Duration>,
    /// Settings handed to the command as `fidelity` (epochs, data fraction…).
    pub fidelity: Metrics,
}

impl CommandEvaluator {
    fn describe<S: SearchSpace>(&self, request: &EvalRequest<'_, S>) -> Value {
        let arch_json: Value = serde_json::from_str(&request.space.to_json(request.arch)).unwrap_or(Value::Null);
        json!({
            "space": S::NAME,
            "arch": request.printed,
            "arch_json": arch_json,
            "canonical": request.space.canonical(request.arch),
            "trial": request.trial_id,
            "seed": request.seed,
            "fidelity": self.fidelity,
        })
    }

    fn spawn(&self, dir: &Path, arch_file: &Path, seed: u64, trial: u64, space: &str) -> std::io::Result<Child> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(&self.command)
            .current_dir(&self.code_dir)
            .env("NASFORGE_TRIAL_DIR", dir)
            .env("NASFORGE_ARCH_FILE", arch_file)
            .env("NASFORGE_TRIAL", trial.to_string())
            .env("NASFORGE_SEED", seed.to_string())
            .env("NASFORGE_SPACE", space)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        die_with_parent(&mut command);
        command.spawn()
    }
}

/// On Linux, the child is killed when nasforge dies, even by SIGKILL (`PR_SET_PDEATHSIG`). Other systems
/// have no such call: there the child's process group is killed when its trial ends or fails, and a
/// nasforge killed by SIGKILL leaves it running.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches only the child's own process attributes.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Kills the whole process group of `child` (whose id is the group's: `process_group(0)`); the group may
/// be gone already, which is harmless.
fn kill_process_group(child: &Child) {
    // SAFETY: kill only sends a signal.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
}

/// Kills the child's whole process group and reaps the child.
fn kill_group(child: &mut Child) {
    kill_process_group(child);
    let _ = child.wait();
}

/// A JSON object whose values are all numbers, as metrics.
fn metrics_of(line: &str) -> Option<Metrics> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line.trim()) else { return None };
    map.into_iter().map(|(k, v)| v.as_f64().map(|v| (k, v))).collect()
}

impl<S: SearchSpace> Evaluator<S> for CommandEvaluator {
    fn evaluate(&self, request: &EvalRequest<'_, S>, reporter: &mut dyn Reporter) -> Result<Metrics, EvalError> {
        let fatal = |what: &str, e: std::io::Error| EvalError::Fatal(format!("{what}: {e}"));
        let dir = self.workdir.join(format!("trial-{}", request.trial_id));
        std::fs::create_dir_all(&dir).map_err(|e| fatal(&format!("creating {}", dir.display()), e))?;
        let description = self.describe(request).to_string();
        let arch_file = dir.join("arch.json");
        std::fs::write(&arch_file, &description).map_err(|e| fatal(&format!("writing {}", arch_file.display()), e))?;
        let mut child = self
            .spawn(&dir, &arch_file, request.seed, request.trial_id, S::NAME)
            .map_err(|e| fatal(&format!("starting `{}`", self.command), e))?;

        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its input closes the pipe: that is not an error.
            let _ = stdin.write_all(description.as_bytes());
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(metrics) = metrics_of(&line)
                    && lines_tx.send(metrics).is_err()
                {
                    break;
                }
            }
        });
        let stderr_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = BufReader::new(stderr).read_to_end(&mut text);
            let text = String::from_utf8_lossy(&text).into_owned();
            let start = text.len().saturating_sub(STDERR_TAIL);
            let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
            text[start..].to_string()
        });

        // The last result line is the final one: each line is reported when the next one arrives.
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut last: Option<Metrics> = None;
        loop {
            let next = match deadline {
                Some(deadline) => match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(metrics) => Some(metrics),
                    Err(mpsc::RecvTimeoutError::Disconnected) => None,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        kill_group(&mut child);
                        let tail = stderr_reader.join().unwrap_or_default();
                        let timeout = self.timeout.expect("a deadline has a timeout");
                        return Err(EvalError::Failed(format!(
                            "timed out after {:.0?}; stderr: {}",
                            timeout,
                            tail.trim()
                        )));
                    }
                },
                None => lines.recv().ok(),
            };
            let Some(metrics) = next else { break };
            if let Some(previous) = last.replace(metrics)
                && let Err(e) = reporter.report(&previous)
            {
                kill_group(&mut child);
                return Err(e);
            }
        }
        let status = child.wait().map_err(|e| fatal("waiting for the command", e))?;
        // Nothing else of the group may outlive the trial.
        kill_process_group(&child);
        let tail = stderr_reader.join().unwrap_or_default();
        if !status.success() {
            return Err(EvalError::Failed(format!("`{}` exited with {status}; stderr: {}", self.command, tail.trim())));
        }
        last.ok_or_else(|| {
            EvalError::Failed(format!(
                "`{}` printed no JSON result line (expected a last line like {{\"val_accuracy\": 0.9}}); stderr: {}",
                self.command,
                tail.trim()
            ))
        })
    }
}
