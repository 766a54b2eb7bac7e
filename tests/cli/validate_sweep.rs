//! `tunix-rt validate` on Sweep manifests beyond their own text: bases
//! that form a cycle (named by each file on it, the rest of the folder
//! still checked) and the `executor: slurm` block, checked before anything
//! runs.

use crate::support::Workspace;
use crate::validate::TRAIN;

/// A valid Sweep manifest named `name` whose base is `base`.
fn sweep_on(name: &str, base: &str) -> String {
    format!(
        "\
apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: {name}
spec:
  base: {base}
  search_space:
    learning_rate: {{ loguniform: [1.0e-5, 1.0e-3] }}
  num_samples: 4
"
    )
}

#[test]
fn sweep_based_on_itself_is_a_cycle_and_the_folder_is_still_checked() {
    let ws = Workspace::new();
    ws.file("manifests/train.yaml", TRAIN);
    ws.file("manifests/self.yaml", sweep_on("self", "self.yaml"));
    ws.run_read_only(&["validate", "manifests"])
        .code(2)
        .stdout_has("manifests/train.yaml: ok (Train t1)")
        .stdout_has("checked 2 file(s): 1 ok, 1 with errors")
        .stderr_has(
            "manifests/self.yaml:6:3: error: Sweep bases form a cycle: \
             manifests/self.yaml -> manifests/self.yaml (at /spec/base)",
        );
}

#[test]
fn two_sweeps_based_on_each_other_are_a_cycle() {
    let ws = Workspace::new();
    ws.file("manifests/a.yaml", sweep_on("a", "b.yaml"));
    ws.file("manifests/b.yaml", sweep_on("b", "./b/../a.yaml"));
    ws.file("manifests/train.yaml", TRAIN);
    let run = ws.run_read_only(&["validate", "manifests"]);
    run.code(2)
        .stdout_has("checked 3 file(s): 1 ok, 2 with errors")
        .stderr_has(
            "manifests/a.yaml:6:3: error: Sweep bases form a cycle: \
             manifests/a.yaml -> manifests/b.yaml -> manifests/a.yaml (at /spec/base)",
        )
        .stderr_has(
            "manifests/b.yaml:6:3: error: Sweep bases form a cycle: \
             manifests/b.yaml -> manifests/a.yaml -> manifests/b.yaml (at /spec/base)",
        );
    assert_eq!(run.stderr.matches("Sweep bases form a cycle").count(), 2);
}

#[test]
fn a_cycle_through_a_chain_of_files_is_named_by_each_file_on_it() {
    let ws = Workspace::new();
    ws.file("manifests/a.yaml", sweep_on("a", "b.yaml"));
    ws.file("manifests/b.yaml", sweep_on("b", "sub/c.yaml"));
    ws.file("manifests/sub/c.yaml", sweep_on("c", "../a.yaml"));
    ws.file("manifests/outside.yaml", sweep_on("outside", "a.yaml"));
    ws.run_read_only(&["validate", "manifests"])
        .code(2)
        .stdout_has("checked 4 file(s): 0 ok, 4 with errors")
        .stderr_has(
            "manifests/a.yaml:6:3: error: Sweep bases form a cycle: \
             manifests/a.yaml -> manifests/b.yaml -> manifests/sub/c.yaml -> manifests/a.yaml",
        )
        .stderr_has(
            "manifests/sub/c.yaml:6:3: error: Sweep bases form a cycle: \
             manifests/sub/c.yaml -> manifests/a.yaml -> manifests/b.yaml -> manifests/sub/c.yaml",
        )
        .stderr_has("manifests/outside.yaml:6:9: error: base manifest `a.yaml` is invalid");
}

#[test]
fn slurm_blocks_are_checked_before_anything_runs() {
    let ws = Workspace::new();
    ws.file("manifests/train.yaml", TRAIN);
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml") + "  executor: slurm\n",
    );
    let message = "manifests/m.yaml:10:3: error: `executor: slurm` needs a `slurm` block \
                   (at /spec/executor)";
    ws.run_read_only(&["validate", "manifests/m.yaml"])
        .code(2)
        .stderr_has(message);
    ws.run_read_only(&["run", "manifests/m.yaml"])
        .code(2)
        .stderr_has(message)
        .stderr_has("nothing was written");
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml")
            + "  executor: slurm\n  slurm:\n    shared_dir: shared\n    gpu_type: a100\n    \
               extra_sbatch: [\"--mail-type=END\", \"--array=0-3\", \"--comment=a b\"]\n",
    );
    ws.run_read_only(&["validate", "manifests/m.yaml"])
        .code(2)
        .stderr_has("shared_dir `shared` is not an absolute path (at /spec/slurm/shared_dir)")
        .stderr_has("gpu_type is set but gpus_per_trial is 0 (at /spec/slurm/gpu_type)")
        .stderr_has("sets `--array`, which tunix-rt sets itself")
        .stderr_has("contains a space: give one option per entry");
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml")
            + "  executor: slurm\n  slurm:\n    shared_dir: /srv\n    partition: \"gpu; rm -rf ~\"\n",
    );
    ws.run_read_only(&["validate", "manifests/m.yaml"])
        .code(2)
        .stderr_has("string `gpu; rm -rf ~` does not match the pattern")
        .stderr_has("(at /spec/slurm/partition)");
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml") + "  slurm:\n    shared_dir: /srv\n",
    );
    ws.run_read_only(&["validate", "manifests/m.yaml"])
        .code(2)
        .stderr_has("a `slurm` block only applies with `executor: slurm` (at /spec/slurm)");
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml")
            + "  executor: slurm\n  slurm:\n    shared_dir: /srv\n    partition: gpu\n    \
               gpus_per_trial: 1\n    time_limit: \"1-02:00:00\"\n    mem_per_trial: 16G\n",
    );
    ws.run_read_only(&["validate", "manifests/m.yaml"]).code(0);
    ws.file(
        "manifests/m.yaml",
        sweep_on("s1", "train.yaml") + "  executor: local\n",
    );
    ws.run_read_only(&["validate", "manifests/m.yaml"]).code(0);
}
