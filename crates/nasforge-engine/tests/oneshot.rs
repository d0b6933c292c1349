//! A one-shot search with a state directory, killed in its final training and run again: it continues with
//! the choice it made and the final training's last epoch, and ends exactly where an uninterrupted search
//! ends; a directory holding another request's search is refused.
//!
//! One test in this binary: it works in a directory of its own (the final training writes its weights under
//! the working directory) and in a one-thread pool, where a training gives the same numbers every time.

use std::path::PathBuf;

use nasforge_engine::config::TrainingFlags;
use nasforge_engine::{DeviceChoice, OneShotMethod, OneShotRequest, OneShotSearch, one_shot_search};
use nasforge_train::enas::EnasConfig;

fn request(state: Option<PathBuf>) -> OneShotRequest {
    let network = TrainingFlags { channels: Some(4), cells: Some(1), ..TrainingFlags::default() };
    OneShotRequest {
        method: OneShotMethod::Enas {
            candidates: 8,
            controller: EnasConfig { controller_steps: 10, reward_images: 32, learning_rate: None },
        },
        training: TrainingFlags { dataset: Some("synthetic".into()), epochs: Some(2), ..network.clone() },
        validation_images: 50,
        recalibration_images: 64,
        final_training: TrainingFlags { epochs: Some(3), ..network },
        device: DeviceChoice::Cpu,
        seed: 3,
        state,
    }
}

/// What an uninterrupted and a resumed search must agree on.
fn outcome(search: &OneShotSearch) -> (String, f64, usize, f64, f64) {
    let result = &search.final_training.result;
    (search.arch.clone(), search.inherited_accuracy, search.supernet_steps, result.test_accuracy, result.test_loss)
}

#[test]
fn a_killed_one_shot_search_continues_from_its_state() {
    let work = tempfile::tempdir().unwrap();
    std::env::set_current_dir(work.path()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        let whole = one_shot_search(&request(None), &mut |_, _| {}).unwrap();

        let state = work.path().join("state");
        let killed = one_shot_search(&request(Some(state.clone())), &mut |stats, _| {
            if stats.epoch == 2 {
                panic!("killed after epoch 2 of the final training");
            }
        });
        let error = killed.expect_err("the kill ends the search").to_string();
        assert!(error.contains("killed after epoch 2"), "{error}");
        for kept in ["request.txt", "choice.json", "supernet", "final"] {
            assert!(state.join(kept).exists(), "the state lacks {kept}");
        }

        // Another request is refused, naming the directory; the state is left as it was.
        let other = OneShotRequest { seed: 4, ..request(Some(state.clone())) };
        let error = one_shot_search(&other, &mut |_, _| {}).expect_err("refused").to_string();
        assert!(error.contains("holds an unfinished one-shot search of another request"), "{error}");
        assert!(state.join("choice.json").exists());

        let mut epochs = Vec::new();
        let resumed = one_shot_search(&request(Some(state.clone())), &mut |stats, _| epochs.push(stats.epoch)).unwrap();
        assert_eq!(epochs, [3], "only the final training's last epoch was left to run");
        assert_eq!(outcome(&resumed), outcome(&whole));
        assert_eq!(resumed.policy, whole.policy);
        assert!(!state.exists(), "the state is removed when the search ends");
    });
}
