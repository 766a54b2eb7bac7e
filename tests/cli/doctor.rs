//! `tunix-rt doctor`, `--help` and completions.

use crate::support::Workspace;

#[test]
fn doctor_reports_versions() {
    let ws = Workspace::new();
    let run = ws.run_read_only(&["doctor", "--format", "json"]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        v["libtorch_version"]
            .as_str()
            .expect("string")
            .starts_with("2.11.0"),
        "{v}"
    );
    assert!(
        v["duckdb_version"]
            .as_str()
            .expect("string")
            .starts_with('v'),
        "{v}"
    );
    assert!(v["cuda_available"].is_boolean());
}

#[test]
fn help_documents_exit_codes() {
    for args in [&["--help"][..], &["run", "--help"]] {
        Workspace::new()
            .run(args)
            .code(0)
            .stdout_has(tunix_rt::exit_code::help_footer())
            .stdout_has("  2    bad input or usage")
            .stdout_has("  130  interrupted by SIGINT");
    }
}

#[test]
fn usage_errors_exit_2() {
    Workspace::new().run(&["validate"]).code(2);
    Workspace::new().run(&["frobnicate"]).code(2);
}

#[test]
fn completions_for_bash() {
    Workspace::new()
        .run(&["completions", "bash"])
        .code(0)
        .stdout_has("complete -F _tunix__rt");
}
