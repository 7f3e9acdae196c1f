use super::*;

fn entry(instance: &str, command: &str) -> AuditEntry {
    AuditEntry {
        mode: "confirm".into(),
        instance: Some(instance.into()),
        command: Some(command.into()),
        ..AuditEntry::default()
    }
}

fn sample_log(dir: &Path) -> PathBuf {
    let path = dir.join("audit.jsonl");
    let chain = AuditChain::open(&path).unwrap();
    chain
        .append(
            AuditEvent::Proposed,
            entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
        )
        .unwrap();
    chain
        .append(
            AuditEvent::Confirmed,
            entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
        )
        .unwrap();
    let r = chain
        .append(
            AuditEvent::Executed,
            entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
        )
        .unwrap();
    assert_eq!(r.seq, 3);
    path
}

#[test]
fn an_intact_chain_verifies_and_reopening_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    assert_eq!(verify_chain(&path).unwrap().len(), 3);
    let chain = AuditChain::open(&path).unwrap();
    let r = chain
        .append(AuditEvent::Verified, entry("cache", "CONFIG GET"))
        .unwrap();
    assert_eq!(r.seq, 4);
    let records = verify_chain(&path).unwrap();
    assert_eq!(
        records[3].prev,
        hash_line(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .nth(2)
                .unwrap()
        )
    );
    assert!(format_record(&records[0]).contains("proposed"));
}

#[test]
fn edits_deletions_and_truncation_break_the_chain_where_they_happen() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let original = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = original.lines().collect();

    // An edit of record 2 (allkeys-lru → volatile-lru) breaks at line 3.
    let edited = original.replacen("allkeys-lru", "volatile-lru", 2);
    std::fs::write(&path, &edited).unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(matches!(err, AuditError::Broken { line: 2, .. }), "{err}");

    // Deleting record 2 breaks at the line that now follows record 1.
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(matches!(err, AuditError::Broken { line: 2, .. }), "{err}");

    // Cutting the last record off is caught by the head file.
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(err.to_string().contains("cut off the end"), "{err}");

    // A record cut short by a crash: the next append starts a new line, verify names it.
    std::fs::write(
        &path,
        format!("{}\n{}\n{}", lines[0], lines[1], &lines[2][..20]),
    )
    .unwrap();
    let chain = AuditChain::open(&path).unwrap();
    assert!(
        chain.check_tail().is_err(),
        "the start-up check sees the cut"
    );
    chain
        .append(AuditEvent::Aborted, entry("cache", "-"))
        .unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(matches!(err, AuditError::Broken { line: 3, .. }), "{err}");
    // The damaged line stays, a `chain_broken` record says what the head named, then the
    // record that was asked for.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(text.lines().nth(3).unwrap().contains("chain_broken"));
}

fn append_n(chain: &AuditChain, n: usize, name: &str) {
    for i in 0..n {
        chain
            .append(
                AuditEvent::Refused,
                entry(name, &format!("fix {name} #{i} — 拒绝：只读模式")),
            )
            .unwrap_or_else(|e| panic!("append {i} of {name}: {e}"));
    }
}

#[test]
fn appends_never_depend_on_where_a_character_boundary_falls() {
    // The outside review's reproduction: CJK names, a log well past 64 KiB. Every offset
    // falls inside a multi-byte character sooner or later.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let chain = AuditChain::open(&path).unwrap();
    for name in ["订单缓存-生产环境", "缓存二", "会话存储-华东一区-主库"] {
        append_n(&chain, 400, name);
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 200 * 1024);
    assert_eq!(verify_chain(&path).unwrap().len(), 1200);
    chain.check_tail().unwrap();
}

#[test]
fn a_huge_field_is_cut_and_the_chain_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let chain = AuditChain::open(&path).unwrap();
    let action = "计".repeat(100_000); // 300 KB, from a model's plan
    let r = chain
        .append(
            AuditEvent::Proposed,
            AuditEntry {
                action: Some(action.clone()),
                ..entry("cache", "x")
            },
        )
        .unwrap();
    let kept = r.action.unwrap();
    assert!(kept.len() < FIELD_LIMIT + 200, "{}", kept.len());
    assert!(kept.contains(&hash_line(&action)), "the cut keeps the hash");
    append_n(&chain, 3, "cache");
    assert_eq!(verify_chain(&path).unwrap().len(), 4);
    // An uncut line longer than the old 64 KiB window (written by an older version or by
    // hand) still chains: the tail is found however long the last line is.
    let mut long = AuditChain::open(&dir.path().join("b.jsonl")).unwrap();
    long.segment_bytes = u64::MAX;
    let r = long
        .append(AuditEvent::Proposed, entry("cache", "x"))
        .unwrap();
    let mut record = r.clone();
    record.result = Some("x".repeat(200_000));
    record.seq = 2;
    record.prev = hash_line(
        std::fs::read_to_string(dir.path().join("b.jsonl"))
            .unwrap()
            .trim_end(),
    );
    let line = serde_json::to_string(&record).unwrap();
    let mut f = OpenOptions::new()
        .append(true)
        .open(dir.path().join("b.jsonl"))
        .unwrap();
    writeln!(f, "{line}").unwrap();
    std::fs::write(
        head_path(&dir.path().join("b.jsonl")),
        format!("2 {}\n", hash_line(&line)),
    )
    .unwrap();
    long.check_tail().unwrap();
    long.append(AuditEvent::Verified, entry("cache", "y"))
        .unwrap();
    assert_eq!(verify_chain(&dir.path().join("b.jsonl")).unwrap().len(), 3);
}

#[test]
fn the_start_up_check_tells_a_cut_from_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample_log(dir.path());
    let chain = AuditChain::open(&path).unwrap();
    chain.check_tail().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // A crash between the record and its head: the head names the record before. Fine.
    std::fs::write(head_path(&path), format!("2 {}\n", hash_line(lines[1]))).unwrap();
    chain.check_tail().unwrap();
    verify_chain(&path).unwrap();

    // Two records cut off the end: caught.
    std::fs::write(&path, format!("{}\n", lines[0])).unwrap();
    std::fs::write(head_path(&path), format!("3 {}\n", hash_line(lines[2]))).unwrap();
    let err = chain.check_tail().unwrap_err();
    assert!(err.to_string().contains("names record 3"), "{err}");

    // The last record edited (its hash changes): caught.
    let edited = format!(
        "{}\n{}\n{}\n",
        lines[0],
        lines[1],
        lines[2].replace("allkeys-lru", "noeviction")
    );
    std::fs::write(&path, &edited).unwrap();
    assert!(chain.check_tail().is_err());

    // The head file removed while records remain: caught.
    std::fs::write(&path, &text).unwrap();
    std::fs::remove_file(head_path(&path)).unwrap();
    assert!(chain.check_tail().is_err());
    assert!(verify_chain(&path).is_err());

    // A cut that an append hides from the head is still found by verify.
    std::fs::write(&path, format!("{}\n", lines[0])).unwrap();
    std::fs::write(head_path(&path), format!("3 {}\n", hash_line(lines[2]))).unwrap();
    chain
        .append(AuditEvent::Aborted, entry("cache", "-"))
        .unwrap();
    chain.check_tail().unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(err.to_string().contains("names record 3"), "{err}");
}

#[test]
fn segments_chain_to_each_other_and_verify_checks_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let chain = AuditChain::open(&path).unwrap().with_segment_bytes(2048);
    append_n(&chain, 60, "缓存二");
    let sealed = segments::sealed_segments(&path).unwrap();
    assert!(sealed.len() >= 5, "{sealed:?}");
    let mut seen = 0;
    let summary = verify_log(&path, |_| seen += 1).unwrap();
    assert_eq!((summary.records, seen), (60, 60));
    assert_eq!(summary.files, sealed.len() + 1);
    // The first record of each segment chains to the last of the one before.
    let first_of_second = std::fs::read_to_string(&sealed[1].1).unwrap();
    let first: AuditRecord = serde_json::from_str(first_of_second.lines().next().unwrap()).unwrap();
    let last_of_first = std::fs::read_to_string(&sealed[0].1).unwrap();
    assert_eq!(first.prev, hash_line(last_of_first.lines().last().unwrap()));

    // Editing a sealed segment breaks the chain there.
    let original = std::fs::read_to_string(&sealed[2].1).unwrap();
    std::fs::write(&sealed[2].1, original.replacen("#", "%", 1)).unwrap();
    let err = verify_chain(&path).unwrap_err();
    assert!(
        err.to_string().contains("line 2 of ") && err.to_string().contains("000003"),
        "{err}"
    );
    std::fs::write(&sealed[2].1, &original).unwrap();

    // Removing a middle segment breaks it.
    let kept = std::fs::read(&sealed[1].1).unwrap();
    std::fs::remove_file(&sealed[1].1).unwrap();
    assert!(verify_chain(&path).is_err());
    std::fs::write(&sealed[1].1, kept).unwrap();
    verify_chain(&path).unwrap();

    // Archiving the oldest segments: the rest verifies from where it starts, and says so.
    std::fs::remove_file(&sealed[0].1).unwrap();
    std::fs::remove_file(&sealed[1].1).unwrap();
    let summary = verify_log(&path, |_| {}).unwrap();
    assert_eq!(summary.starts_at_segment, Some(sealed[2].0));
    assert!(summary.records < 60);
}

#[test]
fn two_programs_appending_across_seals_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Two chains on one file stand for two processes: only the file lock orders them.
    let a = AuditChain::open(&path).unwrap().with_segment_bytes(4096);
    let b = AuditChain::open(&path).unwrap().with_segment_bytes(4096);
    std::thread::scope(|s| {
        s.spawn(|| append_n(&a, 150, "订单缓存-生产环境"));
        s.spawn(|| append_n(&b, 150, "会话存储"));
    });
    let records = verify_chain(&path).unwrap();
    assert_eq!(records.len(), 300);
    assert!(segments::sealed_segments(&path).unwrap().len() > 5);
}
