//! What a process costs, read from `/proc`: resident memory and CPU time.

/// Clock ticks per second in `/proc/<pid>/stat`: 100 on Linux on every common architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// The process's resident memory in MB (`VmRSS`), or 0 once it has gone.
pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kb = line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?;
                kb.trim().parse::<f64>().ok()
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The user and system CPU seconds the process has used.
pub fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .map_or(0.0, |stat| stat_cpu_secs(&stat))
}

/// The CPU seconds every PostgreSQL process on the machine has used, its exited backends
/// left out (each benchmark run reads it before and after).
pub fn postgres_cpu_secs() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.ok()?.path().join("stat")).ok()?;
            stat.contains("(postgres)").then(|| stat_cpu_secs(&stat))
        })
        .sum()
}

/// utime and stime, fields 14 and 15 of a stat line, counted after the command's closing
/// parenthesis (the command may hold spaces).
fn stat_cpu_secs(stat: &str) -> f64 {
    let after_command = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_command.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command, field 3 (state) is index 0, so utime (14) is index 11.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}
