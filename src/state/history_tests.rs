use super::*;

/// A fresh directory under the temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("opsbook-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sample(at: i64, command: &str, values: &[(&str, f64)]) -> Sample {
    Sample {
        at,
        command: command.into(),
        values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// The JSON history's compaction, as it was (a Vec in record order): the oracle the
/// DELETEs are held to.
fn reference_compact(samples: &mut Vec<Sample>, now: i64) {
    let mut seen = std::collections::HashSet::new();
    let mut keep = vec![true; samples.len()];
    for (i, s) in samples.iter().enumerate().rev() {
        if now - s.at < RECENT_SECS {
            continue;
        }
        keep[i] = seen.insert((s.command.clone(), s.at.div_euclid(86400)));
    }
    let mut flags = keep.into_iter();
    samples.retain(|_| flags.next().unwrap_or(true));
    if samples.len() > HISTORY_CAP {
        let excess = samples.len() - HISTORY_CAP;
        samples.drain(..excess);
    }
}

#[test]
fn history_round_trip_and_previous() {
    let dir = TempDir::new("state-test");
    let mut h = History::load(&dir.0).unwrap();
    assert!(h.samples().unwrap().is_empty());
    assert!(!dir.0.exists(), "loading creates nothing");
    h.record(
        &dir.0,
        sample(1, "check morning", &[("postgres.database_size/app", 100.0)]),
    )
    .unwrap();
    let h2 = History::load(&dir.0).unwrap();
    assert_eq!(h2.previous("postgres.database_size/app"), Some((1, 100.0)));
    assert_eq!(h2.previous("nope"), None);
    use std::os::unix::fs::PermissionsExt;
    for name in [
        "history.sqlite3",
        "history.sqlite3-wal",
        "history.sqlite3-shm",
    ] {
        let mode = std::fs::metadata(dir.0.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn answers_follow_the_record_order_as_the_list_did() {
    let h = History::in_memory().unwrap();
    // A monitor that started first records last: its older time comes after.
    h.push(sample(100, "check", &[("a/x", 1.0), ("b", 5.0)]))
        .unwrap();
    h.push(sample(300, "check", &[("a/x", 3.0)])).unwrap();
    h.push(sample(200, "monitor", &[("a/x", 2.0), ("a/y", 9.0)]))
        .unwrap();
    assert_eq!(h.previous("a/x"), Some((200, 2.0)));
    assert_eq!(h.previous("b"), Some((100, 5.0)));
    assert_eq!(h.previous("a"), None, "a key is not its finding alone");
    assert_eq!(h.series("a/x", 0), vec![(100, 1.0), (300, 3.0), (200, 2.0)]);
    assert_eq!(h.series("a/x", 200), vec![(300, 3.0), (200, 2.0)]);
    assert_eq!(h.series("a/y", 201), vec![]);
    let all = h.samples().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], sample(100, "check", &[("a/x", 1.0), ("b", 5.0)]));
    // NaN is not a number SQLite keeps; the rest of the sample is.
    h.push(sample(400, "x", &[("n", f64::NAN), ("m", 1.0)]))
        .unwrap();
    assert_eq!(h.previous("n"), None);
    assert_eq!(h.previous("m"), Some((400, 1.0)));
    assert_eq!(History::default().previous("a/x"), None);
    assert!(History::default().series("a/x", 0).is_empty());
}

#[test]
fn compaction_keeps_recent_and_one_per_command_and_day() {
    let h = History::in_memory().unwrap();
    let day = 86400;
    let now = 100 * day;
    // two check runs on an old day, then minutely monitor samples for three days
    for at in [now - 10 * day + 10, now - 10 * day + 20] {
        h.push(sample(at, "check night", &[])).unwrap();
    }
    for m in (0..(3 * 24 * 60)).rev() {
        h.push(sample(now - m * 60, "monitor", &[("k", m as f64)]))
            .unwrap();
    }
    h.compact(now).unwrap();
    let samples = h.samples().unwrap();
    let recent = samples.iter().filter(|s| now - s.at < RECENT_SECS).count();
    assert_eq!(recent as i64, RECENT_SECS / 60);
    let old_checks: Vec<i64> = samples
        .iter()
        .filter(|s| s.command == "check night")
        .map(|s| s.at)
        .collect();
    assert_eq!(
        old_checks,
        vec![now - 10 * day + 20],
        "the day's last run is kept"
    );
    assert!(samples.len() <= HISTORY_CAP);
    assert!(samples.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(h.series("k", now - 120).len(), 3);
}

#[test]
fn thinning_deletes_what_the_json_compaction_dropped() {
    // Several commands, days before 1970 too, times out of order, more than the cap.
    let day = 86400;
    let now = 30 * day + 5000;
    let mut list = Vec::new();
    let h = History::in_memory().unwrap();
    let mut x: i64 = 7;
    for i in 0..(HISTORY_CAP as i64 + 900) {
        x = (x * 1103515245 + 12345) % 2147483648;
        let at = now - 40 * day + i * 1000 - (x % 7000);
        let command = ["monitor", "check morning", "check night"][(x % 3) as usize];
        let s = sample(at, command, &[("k/v", i as f64)]);
        h.push(s.clone()).unwrap();
        list.push(s);
    }
    for (at, command) in [(-1, "old"), (-86400, "old"), (-86401, "old"), (0, "old")] {
        let s = sample(at, command, &[("k/v", at as f64)]);
        h.push(s.clone()).unwrap();
        list.push(s);
    }
    reference_compact(&mut list, now);
    h.compact(now).unwrap();
    assert_eq!(h.samples().unwrap(), list);
    assert_eq!(
        h.previous("k/v"),
        list.last().map(|s| (s.at, s.values["k/v"]))
    );
}

#[test]
fn recording_thins_with_the_new_sample_time() {
    let dir = TempDir::new("state-thin");
    let mut h = History::default();
    let day = 86400;
    let now = 50 * day;
    for at in [now - 3 * day, now - 3 * day + 60, now - 60] {
        h.record(&dir.0, sample(at, "monitor", &[("k", at as f64)]))
            .unwrap();
    }
    h.record(&dir.0, sample(now, "monitor", &[("k", 1.0)]))
        .unwrap();
    let at: Vec<i64> = h.samples().unwrap().iter().map(|s| s.at).collect();
    assert_eq!(at, vec![now - 3 * day + 60, now - 60, now]);
}

/// Two threads and two processes record into one history at once: every sample is kept.
#[test]
fn concurrent_writers_keep_every_sample() {
    let dir = TempDir::new("state-concurrent");
    let n = 40;
    let children: Vec<std::process::Child> = (0..2)
        .map(|i| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "state::history::tests::writer_process",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env("OPSBOOK_TEST_HISTORY_DIR", &dir.0)
                .env("OPSBOOK_TEST_HISTORY_WRITER", format!("process{i}"))
                .env("OPSBOOK_TEST_HISTORY_N", n.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let dir = dir.0.clone();
            std::thread::spawn(move || write_samples(&dir, &format!("thread{i}"), n))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let all = History::load(&dir.0).unwrap().samples().unwrap();
    assert_eq!(all.len(), 4 * n);
    for who in ["thread0", "thread1", "process0", "process1"] {
        let mine: Vec<f64> = all
            .iter()
            .filter(|s| s.command == who)
            .map(|s| s.values["n/i"])
            .collect();
        assert_eq!(mine, (0..n).map(|i| i as f64).collect::<Vec<_>>(), "{who}");
    }
}

fn write_samples(dir: &Path, who: &str, n: usize) {
    for i in 0..n {
        let mut h = History::load(dir).unwrap();
        h.previous("n/i");
        h.record(dir, sample(1_000_000 + i as i64, who, &[("n/i", i as f64)]))
            .unwrap();
    }
}

/// The other process of [`concurrent_writers_keep_every_sample`].
#[test]
#[ignore = "run by concurrent_writers_keep_every_sample"]
fn writer_process() {
    let (Ok(dir), Ok(who), Ok(n)) = (
        std::env::var("OPSBOOK_TEST_HISTORY_DIR"),
        std::env::var("OPSBOOK_TEST_HISTORY_WRITER"),
        std::env::var("OPSBOOK_TEST_HISTORY_N"),
    ) else {
        return;
    };
    write_samples(Path::new(&dir), &who, n.parse().unwrap());
}

/// A `history.json` as the JSON history wrote it (`serde_json::to_vec(&History)`).
fn old_json(samples: &[Sample]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "samples": samples })).unwrap()
}

#[test]
fn a_json_history_is_imported_once_and_renamed() {
    let dir = TempDir::new("state-migrate");
    std::fs::create_dir_all(&dir.0).unwrap();
    let old = vec![
        sample(10, "check night", &[("host.disk_used//srv", 5e9)]),
        sample(
            20,
            "monitor",
            &[("host.cpu_usage/busy_ticks", 1.5), ("k", 0.1)],
        ),
        sample(
            15,
            "check morning",
            &[("postgres.database_size/h:1/app", 1e6)],
        ),
    ];
    std::fs::write(dir.0.join("history.json"), old_json(&old)).unwrap();
    let h = History::load(&dir.0).unwrap();
    assert_eq!(h.samples().unwrap(), old);
    assert_eq!(h.previous("host.disk_used//srv"), Some((10, 5e9)));
    assert!(!dir.0.join("history.json").exists());
    assert_eq!(
        std::fs::read(dir.0.join("history.json.migrated")).unwrap(),
        old_json(&old),
        "the old file is kept aside"
    );
    // Not imported again.
    assert_eq!(History::load(&dir.0).unwrap().samples().unwrap(), old);

    // A later history.json (an older opsbook ran meanwhile) is imported after, and renamed
    // beside the first.
    let later = vec![sample(30, "check night", &[("k", 2.0)])];
    std::fs::write(dir.0.join("history.json"), old_json(&later)).unwrap();
    let mut h = History::default();
    h.record(&dir.0, sample(40, "monitor", &[("k", 3.0)]))
        .unwrap();
    let all = h.samples().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[3], later[0]);
    assert!(dir.0.join("history.json.migrated.1").exists());
}

#[test]
fn an_imported_json_that_could_not_be_renamed_is_not_imported_twice() {
    let dir = TempDir::new("state-migrate-twice");
    std::fs::create_dir_all(&dir.0).unwrap();
    let old = vec![sample(10, "monitor", &[("k", 1.0)])];
    std::fs::write(dir.0.join("history.json"), old_json(&old)).unwrap();
    History::load(&dir.0).unwrap();
    // Put it back, as if the rename had failed after the commit.
    let migrated = dir.0.join("history.json.migrated");
    std::fs::rename(&migrated, dir.0.join("history.json")).unwrap();
    assert_eq!(History::load(&dir.0).unwrap().samples().unwrap(), old);
    assert!(migrated.exists() && !dir.0.join("history.json").exists());
}

#[test]
fn a_corrupt_json_history_is_reported_as_before_and_kept() {
    let dir = TempDir::new("state-corrupt");
    std::fs::create_dir_all(&dir.0).unwrap();
    let json = dir.0.join("history.json");
    std::fs::write(&json, b"{\"samples\": [").unwrap();
    let e = History::load(&dir.0).unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.starts_with(&format!(
            "reading run history {} (move the corrupt file aside to start a new history): ",
            json.display()
        )),
        "{text}"
    );
    let mut h = History::default();
    let e = h
        .record(&dir.0, sample(1, "monitor", &[("k", 1.0)]))
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("move the corrupt file aside"),
        "{e:#}"
    );
    assert_eq!(std::fs::read(&json).unwrap(), b"{\"samples\": [");
    assert!(!dir.0.join("history.sqlite3").exists());

    // Too large: refused by its size, and kept too.
    let f = std::fs::File::create(&json).unwrap();
    f.set_len(crate::bounded_read::STATE_FILE_LIMIT + 1)
        .unwrap();
    let e = History::load(&dir.0).unwrap_err();
    assert!(
        format!("{e:#}").contains("run history") && format!("{e:#}").contains("over the limit"),
        "{e:#}"
    );
    assert!(json.exists());
}

#[test]
fn a_file_that_is_not_a_history_is_reported_with_the_way_out() {
    let dir = TempDir::new("state-notdb");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("history.sqlite3"), vec![b'x'; 8192]).unwrap();
    let e = History::load(&dir.0).unwrap_err();
    let text = format!("{e:#}");
    assert!(text.contains("move the corrupt file aside"), "{text}");
    assert!(text.contains("history.sqlite3"), "{text}");
}

#[test]
fn the_wal_is_emptied_into_the_file_as_runs_record() {
    let dir = TempDir::new("state-wal");
    let mut h = History::default();
    for i in 0..300 {
        h.record(
            &dir.0,
            sample(
                1_000_000 + i * 60,
                "monitor",
                &[("a/b", 1.0), ("c/d", i as f64)],
            ),
        )
        .unwrap();
    }
    let wal = std::fs::metadata(dir.0.join("history.sqlite3-wal"))
        .unwrap()
        .len();
    assert!(wal < 320 * 1024, "{wal} bytes of WAL");
    let h = History::load(&dir.0).unwrap();
    assert_eq!(h.samples().unwrap().len(), 300);
    assert_eq!(h.previous("c/d"), Some((1_000_000 + 299 * 60, 299.0)));
}
