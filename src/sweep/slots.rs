//! Slots for concurrent trials. With N visible GPUs and `per_gpu` trials
//! per GPU there are N × per_gpu slots; slot k runs its trials with
//! `CUDA_VISIBLE_DEVICES` set to GPU k mod N (round-robin), so trials
//! spread over the GPUs before any GPU gets a second one. On the CPU, k
//! concurrent trials share the cores: each gets `OMP_NUM_THREADS` = cores
//! ÷ k (at least 1) unless the user set it, so k trainers do not each
//! start a thread per core and fight over them.

use std::path::Path;

/// The GPUs this process may use: `CUDA_VISIBLE_DEVICES` when set, else
/// the NVIDIA driver's devices; none on a machine without them.
pub fn visible_gpus() -> Vec<String> {
    parse_visible(
        std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref(),
        Path::new("/proc/driver/nvidia/gpus"),
    )
}

fn parse_visible(env: Option<&str>, driver_dir: &Path) -> Vec<String> {
    if let Some(list) = env {
        return list
            .split(',')
            .map(str::trim)
            .take_while(|d| !d.is_empty() && !d.starts_with('-'))
            .map(String::from)
            .collect();
    }
    let count = std::fs::read_dir(driver_dir).map_or(0, |d| d.count());
    (0..count).map(|i| i.to_string()).collect()
}

/// The device of each of `workers` slots (none: leave the environment as
/// it is), and how many slots there are at most.
pub fn assign(gpus: &[String], per_gpu: u32, wanted: usize) -> Vec<Option<String>> {
    if gpus.is_empty() {
        return vec![None; wanted];
    }
    let slots = gpus.len() * per_gpu.max(1) as usize;
    (0..wanted.min(slots))
        .map(|k| Some(gpus[k % gpus.len()].clone()))
        .collect()
}

/// Threads per CPU trial when `concurrent` trials share `cores` cores;
/// none when one trial runs at a time or the user chose
/// (`OMP_NUM_THREADS` already set).
pub fn cpu_threads(cores: usize, concurrent: usize, user_set: bool) -> Option<usize> {
    (!user_set && concurrent > 1).then(|| (cores / concurrent).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn slots_go_round_robin_and_are_capped_by_gpus_times_per_gpu() {
        let gpus = ids(&["0", "1"]);
        let two = |s: &str| Some(s.to_string());
        assert_eq!(
            assign(&gpus, 2, 8),
            vec![two("0"), two("1"), two("0"), two("1")]
        );
        assert_eq!(assign(&gpus, 1, 1), vec![two("0")]);
        assert_eq!(assign(&[], 4, 3), vec![None, None, None]);
    }

    #[test]
    fn cpu_trials_split_the_cores_unless_the_user_chose() {
        assert_eq!(cpu_threads(8, 2, false), Some(4));
        assert_eq!(cpu_threads(2, 4, false), Some(1));
        assert_eq!(cpu_threads(8, 1, false), None);
        assert_eq!(cpu_threads(8, 2, true), None);
    }

    #[test]
    fn visible_devices_come_from_the_environment_or_the_driver() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(parse_visible(Some("2,3"), tmp.path()), ids(&["2", "3"]));
        assert_eq!(parse_visible(Some(""), tmp.path()), Vec::<String>::new());
        assert_eq!(parse_visible(Some("-1"), tmp.path()), Vec::<String>::new());
        assert_eq!(
            parse_visible(None, &tmp.path().join("none")),
            Vec::<String>::new()
        );
        for d in ["0000:01:00.0", "0000:02:00.0"] {
            std::fs::create_dir_all(tmp.path().join(d)).expect("mkdir");
        }
        assert_eq!(parse_visible(None, tmp.path()), ids(&["0", "1"]));
    }
}
