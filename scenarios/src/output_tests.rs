use super::*;

fn fresh(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scrub-output-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_set_is_written_together_and_leaves_no_temporary_file() {
    let d = fresh("set");
    let out = ReportDir::prepare(&d.join("sub")).unwrap();
    let w = out.write(&[("a.md", "A"), ("a.json", "{}")]).unwrap();
    assert_eq!(w.0, vec![d.join("sub/a.md"), d.join("sub/a.json")]);
    assert_eq!(
        w.to_string(),
        format!("{} and {}", w.0[0].display(), w.0[1].display())
    );
    assert_eq!(entries(out.path()), ["a.json", "a.md"]);
    assert_eq!(std::fs::read_to_string(d.join("sub/a.md")).unwrap(), "A");
}

#[test]
fn an_unwritable_folder_fails_up_front_saying_write() {
    let d = fresh("file");
    std::fs::create_dir_all(&d).unwrap();
    let file = d.join("plain");
    std::fs::write(&file, "x").unwrap();
    // Root writes into read-only folders, so a folder under a regular file stands in.
    let e = ReportDir::prepare(&file.join("sub")).unwrap_err();
    assert!(matches!(e, ScenarioError::Write { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("cannot write {}", file.join("sub").display())),
        "{msg}"
    );
    let e = write_result(&file, "a.md", "A").unwrap_err();
    assert!(e.to_string().starts_with("cannot write "), "{e}");
}

#[test]
fn a_failing_report_replaces_none_and_removes_every_temporary_file() {
    let d = fresh("blocked");
    let out = ReportDir::prepare(&d).unwrap();
    std::fs::write(d.join("r.md"), "old").unwrap();
    // A directory in the second report's place: found only when the set is written.
    std::fs::create_dir(d.join("r.json")).unwrap();
    std::fs::write(d.join("r.json/keep"), "").unwrap();
    let e = out.write(&[("r.md", "new"), ("r.json", "{}")]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("cannot write {}", d.join("r.json").display())),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(d.join("r.md")).unwrap(), "old");
    assert_eq!(entries(&d), ["r.json", "r.md"]);
}

#[test]
fn a_file_that_cannot_be_staged_leaves_no_temporary_file() {
    let d = fresh("stage");
    let out = ReportDir::prepare(&d).unwrap();
    // The second name's temporary file cannot be created: its folder does not exist.
    let e = out
        .write(&[("a.md", "A"), ("missing/b.json", "{}")])
        .unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "cannot write {}",
            d.join("missing/b.json").display()
        )),
        "{e}"
    );
    assert!(entries(&d).is_empty(), "{:?}", entries(&d));
}

#[test]
fn parts_failed_names_each_failure() {
    let e = ScenarioError::PartsFailed {
        total: 4,
        failed: vec!["sneaking-knowledge: too few samples".into()],
    };
    assert_eq!(
        e.to_string(),
        "1 of 4 failed (what finished was written): sneaking-knowledge: too few samples"
    );
}

#[test]
fn folders_made_for_a_set_never_written_are_removed_again() {
    let d = fresh("unused");
    std::fs::create_dir_all(&d).unwrap();
    let nested = d.join("a/b");
    drop(ReportDir::prepare(&nested).unwrap());
    assert!(entries(&d).is_empty(), "{:?}", entries(&d));
    // A folder that was there stays, and one with reports in it stays.
    drop(ReportDir::prepare(&d).unwrap());
    assert!(d.is_dir());
    let out = ReportDir::prepare(&nested).unwrap();
    out.write(&[("r.md", "R")]).unwrap();
    drop(out);
    assert_eq!(entries(&nested), ["r.md"]);
}
