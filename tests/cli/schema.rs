//! `tunix-rt schema export [--check]`.

use crate::support::{repo, Workspace};

#[test]
fn committed_schemas_are_up_to_date() {
    let out = assert_cmd::Command::cargo_bin("tunix-rt")
        .expect("binary")
        .args(["schema", "export", "--check"])
        .current_dir(repo())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn export_writes_and_check_detects_stale_files() {
    let ws = Workspace::new();
    ws.run(&["schema", "export"])
        .code(0)
        .stdout_has("wrote schemas/train.schema.json");
    ws.run_read_only(&["schema", "export", "--check"]).code(0);
    ws.file("schemas/sweep.schema.json", "{}\n");
    ws.run_read_only(&["schema", "export", "--check"])
        .code(1)
        .stderr_has("stale: schemas/sweep.schema.json")
        .stderr_has("run `tunix-rt schema export`");
}
