//! The `slurm:` block of Train and Sweep manifests: what each job (a
//! trial, or the Train run) asks the cluster for. Every value reaches
//! `sbatch` as one argv element (never through a shell); the schema keeps
//! names to the characters Slurm accepts.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Resources and placement of the Slurm jobs (`executor: slurm`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlurmSpec {
    /// A folder that the login node (where `tunix-rt run` coordinates) and
    /// the compute nodes see at the same path. The workspace must be inside
    /// it: trial folders, checkpoints and the job scripts live there.
    pub shared_dir: PathBuf,
    /// Partition (`--partition`). Default: the cluster's default partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.+-]+(,[A-Za-z0-9_.+-]+)*$"))]
    pub partition: Option<String>,
    /// GPUs per job (a trial, or the Train run). 0: none.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(max = 64))]
    pub gpus_per_trial: u32,
    /// How GPUs are asked for: `gres` (`--gres=gpu[:TYPE]:N`, every Slurm
    /// version) or `gpus` (`--gpus=[TYPE:]N`, clusters with cons_tres).
    #[serde(default)]
    pub gpu_request: GpuRequest,
    /// GPU type, e.g. `a100` (as the cluster's gres.conf names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+$"))]
    pub gpu_type: Option<String>,
    /// CPUs per job (`--cpus-per-task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4096))]
    pub cpus_per_trial: Option<u32>,
    /// Memory per job (`--mem`), Slurm syntax: `16G`, `8000M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-9][0-9]*[KMGT]?$"))]
    pub mem_per_trial: Option<String>,
    /// Time limit per job (`--time`), Slurm syntax: `MM`, `MM:SS`,
    /// `HH:MM:SS`, `D-HH`, `D-HH:MM` or `D-HH:MM:SS`. A job past it ends
    /// TIMEOUT (failure class `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$|^[0-9]+-[0-9]+$"))]
    pub time_limit: Option<String>,
    /// Account to charge (`--account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+$"))]
    pub account: Option<String>,
    /// Quality of service (`--qos`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.-]+$"))]
    pub qos: Option<String>,
    /// Node features (`--constraint`), e.g. `a100|h100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.:&|\[\]()*,-]+$"))]
    pub constraint: Option<String>,
    /// More `#SBATCH` lines, one option each, e.g. `--mail-type=END`
    /// (no spaces, no newlines; options tunix-rt sets itself are refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_sbatch: Vec<String>,
    /// The `tunix-rt` binary as the compute nodes see it. Default: the
    /// path of the binary that submits (it must then be on shared storage
    /// or installed at the same path on every node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunix_rt: Option<PathBuf>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How a job asks for GPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GpuRequest {
    /// `--gres=gpu[:TYPE]:N`.
    #[default]
    Gres,
    /// `--gpus=[TYPE:]N`.
    Gpus,
}

/// Options tunix-rt sets on every job itself; `extra_sbatch` may not.
pub const MANAGED_OPTIONS: &[&str] = &[
    "--array",
    "-a",
    "--job-name",
    "-J",
    "--output",
    "-o",
    "--error",
    "-e",
    "--chdir",
    "-D",
    "--requeue",
    "--no-requeue",
    "--parsable",
    "--wrap",
    "--open-mode",
    "--partition",
    "-p",
    "--gres",
    "--gpus",
    "-G",
    "--cpus-per-task",
    "-c",
    "--mem",
    "--time",
    "-t",
    "--account",
    "-A",
    "--qos",
    "-q",
    "--constraint",
    "-C",
];

/// Why an `extra_sbatch` entry is refused, if it is.
pub fn extra_option_problem(option: &str) -> Option<String> {
    if option.chars().any(|c| c.is_control()) {
        return Some("contains a newline or another control character".into());
    }
    if option.chars().any(char::is_whitespace) {
        return Some("contains a space: give one option per entry, as `--name=value`".into());
    }
    if !option.starts_with('-') || option.len() < 2 {
        return Some("is not an option (it must start with `-`, e.g. `--mail-type=END`)".into());
    }
    let name = option.split('=').next().unwrap_or(option);
    let name = if name.starts_with("--") {
        name
    } else {
        &name[..2.min(name.len())]
    };
    if MANAGED_OPTIONS.contains(&name) {
        return Some(format!(
            "sets `{name}`, which tunix-rt sets itself (use the slurm block's own keys)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_options_are_one_plain_option_each() {
        assert_eq!(extra_option_problem("--mail-type=END"), None);
        assert_eq!(extra_option_problem("--exclusive"), None);
        assert_eq!(extra_option_problem("-N1"), None);
        assert!(extra_option_problem("--mail-type=END\n--wrap=x")
            .unwrap()
            .contains("newline"));
        assert!(extra_option_problem("--comment=a b")
            .unwrap()
            .contains("space"));
        assert!(extra_option_problem("hostname")
            .unwrap()
            .contains("not an option"));
        assert!(extra_option_problem("--array=0-9")
            .unwrap()
            .contains("--array"));
        assert!(extra_option_problem("-o/tmp/x").unwrap().contains("-o"));
        assert!(extra_option_problem("--output=x")
            .unwrap()
            .contains("--output"));
    }
}
