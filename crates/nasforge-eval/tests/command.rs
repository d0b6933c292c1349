//! The command evaluator with small shell scripts standing in for a user's training program.

use std::time::{Duration, Instant};

use nasforge_core::space::Nb201Space;
use nasforge_core::{EvalError, EvalRequest, Evaluator, Metrics, Reporter, SearchSpace};
use nasforge_eval::CommandEvaluator;

#[derive(Default)]
struct Curve(Vec<Metrics>);

impl Reporter for Curve {
    fn report(&mut self, metrics: &Metrics) -> Result<(), EvalError> {
        self.0.push(metrics.clone());
        Ok(())
    }
}

const ARCH: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|";

fn run(command: &str, timeout: Option<Duration>) -> (tempfile::TempDir, Result<Metrics, EvalError>, Vec<Metrics>) {
    let dir = tempfile::tempdir().unwrap();
    let evaluator = CommandEvaluator {
        command: command.into(),
        code_dir: dir.path().to_path_buf(),
        workdir: dir.path().join("trials"),
        timeout,
        fidelity: Metrics::from([("epochs".into(), 3.0)]),
    };
    let arch = Nb201Space.parse(ARCH).unwrap();
    let request = EvalRequest {
        space: &Nb201Space,
        arch: &arch,
        printed: ARCH,
        trial_id: 7,
        seed: 11,
        checkpoint: None,
        reported: 0,
    };
    let mut curve = Curve::default();
    let result = evaluator.evaluate(&request, &mut curve);
    (dir, result, curve.0)
}

#[test]
fn reads_the_learning_curve_and_the_final_metrics() {
    let script = r#"
        grep -q '"arch":"|nor_conv_3x3~0|' "$NASFORGE_ARCH_FILE" || exit 3
        grep -q '"epochs":3' "$NASFORGE_ARCH_FILE" || exit 4
        [ "$NASFORGE_TRIAL" = 7 ] && [ "$NASFORGE_SEED" = 11 ] && [ "$NASFORGE_SPACE" = nb201 ] || exit 5
        [ "$(pwd)" = "$(dirname "$NASFORGE_TRIAL_DIR")/.." ] || [ -d trials ] || exit 6
        cat > "$NASFORGE_TRIAL_DIR/stdin.json"
        echo "training..."
        echo '{"epoch": 1, "val_accuracy": 0.5}'
        echo '{"epoch": 2, "val_accuracy": 0.7}'
        echo '{"val_accuracy": 0.75, "params": 1000}'
    "#;
    let (dir, result, curve) = run(script, None);
    let metrics = result.unwrap();
    assert_eq!(metrics, Metrics::from([("val_accuracy".into(), 0.75), ("params".into(), 1000.0)]));
    assert_eq!(curve.len(), 2);
    assert_eq!(curve[1]["val_accuracy"], 0.7);
    // The description also arrived on standard input, in the trial's own directory.
    let stdin = std::fs::read_to_string(dir.path().join("trials/trial-7/stdin.json")).unwrap();
    assert!(stdin.contains("\"space\":\"nb201\""), "{stdin}");
}

#[test]
fn a_failing_command_fails_the_trial_with_its_stderr() {
    let (_dir, result, _) = run("echo 'CUDA out of memory' >&2; exit 2", None);
    let Err(EvalError::Failed(message)) = result else { panic!("expected a failed trial: {result:?}") };
    assert!(message.contains("exit status: 2") && message.contains("CUDA out of memory"), "{message}");
}

#[test]
fn a_command_without_a_result_line_fails_the_trial() {
    let (_dir, result, _) = run("echo done", None);
    let Err(EvalError::Failed(message)) = result else { panic!("expected a failed trial: {result:?}") };
    assert!(message.contains("no JSON result line"), "{message}");
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let started = Instant::now();
    // The command starts a grandchild that would outlive a plain kill of the shell.
    let (dir, result, _) =
        run("sleep 30 & echo $! > \"$NASFORGE_TRIAL_DIR/grandchild.pid\"; wait", Some(Duration::from_millis(500)));
    let Err(EvalError::Failed(message)) = result else { panic!("expected a failed trial: {result:?}") };
    assert!(message.contains("timed out"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = std::fs::read_to_string(dir.path().join("trials/trial-7/grandchild.pid")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    assert!(status.is_empty() || status.contains("State:\tZ"), "the grandchild survived the timeout");
}
