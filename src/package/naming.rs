//! The package's file name: `<prefix>_<run_version>_<short-sha>.zip`.

use crate::error::{Error, Result};
use crate::runfolder::GitInfo;

/// Default first part of a package's name.
pub const DEFAULT_PREFIX: &str = "tunix-rt";

/// The short sha of a run made outside a git repository.
pub const NO_GIT: &str = "nogit";

/// Hex digits of the commit kept in the name.
const SHORT_SHA_LEN: usize = 7;

/// `<prefix>_<run_version>_<short_sha>.zip`. `prefix` and `run_version`
/// must already be checked with [`check_name_part`].
pub fn zip_name(prefix: &str, run_version: &str, short_sha: &str) -> String {
    format!("{prefix}_{run_version}_{short_sha}.zip")
}

/// The first 7 hex digits (lowercase) of the run's git commit, or `nogit`
/// when the run recorded no git information. A commit that is not at
/// least 7 hex digits is an error (the caller attaches the manifest path).
pub fn short_sha(git: Option<&GitInfo>) -> std::result::Result<String, NotACommit> {
    let Some(git) = git else {
        return Ok(NO_GIT.to_string());
    };
    let commit = git.commit.trim();
    let head: String = commit.chars().take(SHORT_SHA_LEN).collect();
    if head.len() == SHORT_SHA_LEN && head.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(head.to_ascii_lowercase())
    } else {
        Err(NotACommit {
            commit: commit.to_string(),
        })
    }
}

/// A run's recorded `git.commit` that does not start with a commit hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git.commit `{commit}` is not a commit hash (at least {len} hex digits)", len = SHORT_SHA_LEN)]
pub struct NotACommit {
    /// The recorded commit, trimmed.
    pub commit: String,
}

/// Check one part of the package's name (the prefix, or the run folder's
/// name): letters, digits, `.`, `_`, `-`, starting with a letter or digit.
/// `what` names the part in the message ("--prefix", "run folder name").
pub fn check_name_part(what: &str, value: &str) -> Result<()> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if first_ok && rest_ok && value.len() <= 128 {
        Ok(())
    } else {
        Err(Error::bad_input(format!(
            "{what} `{value}` cannot be part of a package name: use letters, digits, `.`, `_` and `-`, starting with a letter or digit (at most 128 characters)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(commit: &str) -> GitInfo {
        GitInfo {
            commit: commit.to_string(),
            dirty: false,
        }
    }

    #[test]
    fn name_is_prefix_version_and_short_sha() {
        let sha = short_sha(Some(&git("0123456789ABCDEF0123456789abcdef01234567"))).expect("sha");
        assert_eq!(sha, "0123456");
        assert_eq!(
            zip_name(DEFAULT_PREFIX, "m35_v1", &sha),
            "tunix-rt_m35_v1_0123456.zip"
        );
    }

    #[test]
    fn runs_without_git_are_named_nogit() {
        assert_eq!(short_sha(None).expect("sha"), "nogit");
        assert_eq!(zip_name("p", "r", NO_GIT), "p_r_nogit.zip");
    }

    #[test]
    fn malformed_commits_are_refused() {
        for bad in ["", "abc12", "not-a-sha-at-all", "xyz1234567"] {
            let err = short_sha(Some(&git(bad))).expect_err(bad);
            assert_eq!(
                err.to_string(),
                format!("git.commit `{bad}` is not a commit hash (at least 7 hex digits)")
            );
        }
    }

    #[test]
    fn name_parts_are_safe_file_name_pieces() {
        for ok in ["tunix-rt", "m35_v1", "A.b-c_9", "quickstart-2"] {
            check_name_part("x", ok).expect(ok);
        }
        for bad in [
            "", ".hidden", "-dash", "a/b", "a b", "a\\b", "é", "..", "a:b",
        ] {
            let err = check_name_part("--prefix", bad).expect_err(bad);
            assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
            assert!(err.to_string().contains("--prefix"), "{err}");
        }
    }
}
