//! How much memory this machine can still give a process, to refuse before it starts a training that would
//! not fit: the kernel's estimate of available memory (`MemAvailable` in `/proc/meminfo`), lowered to what a
//! control group's limit leaves (`memory.max` − `memory.current`, cgroup v2).

use std::fs;

/// The bytes available to this process and where that figure comes from; `None` where neither can be read.
pub fn available_bytes() -> Option<(u64, &'static str)> {
    let system = fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|line| line.starts_with("MemAvailable:"))?;
        let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some((kilobytes * 1024, "MemAvailable in /proc/meminfo"))
    });
    let read = |name: &str| fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok()?.trim().parse::<u64>().ok();
    let group = read("memory.max")
        .map(|limit| (limit.saturating_sub(read("memory.current").unwrap_or(0)), "the cgroup's memory.max"));
    match (system, group) {
        (Some(s), Some(g)) => Some(if g.0 < s.0 { g } else { s }),
        (s, g) => s.or(g),
    }
}

/// Refuses `what` when it needs more than `available` bytes (`(bytes, source)`), naming both.
pub fn check_fits(what: &str, needed: u64, available: Option<(u64, &'static str)>) -> Result<(), String> {
    match available {
        Some((bytes, source)) if needed > bytes => Err(format!(
            "{what} would need about {} of memory, more than the {} available ({source})",
            gib(needed),
            gib(bytes)
        )),
        _ => Ok(()),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_above_what_is_available_is_refused_with_both_figures() {
        let available = Some((8u64 << 30, "MemAvailable in /proc/meminfo"));
        assert!(check_fits("the supernet's training", 1 << 30, available).is_ok());
        let error = check_fits("the supernet's training", 12 << 30, available).unwrap_err();
        assert_eq!(
            error,
            "the supernet's training would need about 12.0 GiB of memory, more than the 8.0 GiB available \
             (MemAvailable in /proc/meminfo)"
        );
        assert!(check_fits("anything", u64::MAX, None).is_ok(), "nothing is refused where memory is unknown");
    }

    #[test]
    fn this_machine_reports_its_available_memory() {
        if std::path::Path::new("/proc/meminfo").exists() {
            let (bytes, _) = available_bytes().expect("a figure where /proc/meminfo exists");
            assert!(bytes > 0);
        }
    }
}
