//! Test helpers shared by tunix-rt's unit tests, CLI tests, benchmarks and
//! examples, kept out of the shipped crates: golden files (here),
//! synthetic run folders ([`synthetic`]) and typed manifest builders
//! ([`manifest`]).

pub mod manifest;
pub mod synthetic;

use std::path::Path;

/// Compare `actual` with the golden file `dir/NAME`, or rewrite that file
/// when `UPDATE_GOLDEN` is set. A difference fails with the first line that
/// differs, both versions of it, and how to accept the new output.
pub fn assert_golden(dir: &Path, name: &str, actual: &str) {
    let path = dir.join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the golden folder");
        }
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if let Some(line) = first_difference(&expected, actual) {
        panic!(
            "{} differs from the output at line {} (UPDATE_GOLDEN=1 rewrites it)\nexpected: {:?}\nactual:   {:?}",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// The index of the first line where `expected` and `actual` differ (a
/// missing line counts), or None when they are equal.
fn first_difference(expected: &str, actual: &str) -> Option<usize> {
    if expected == actual {
        return None;
    }
    Some(
        expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_line_is_named() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some(1));
        assert_eq!(first_difference("a\nb\n", "a\n"), Some(1));
        assert_eq!(first_difference("a\n", "a"), Some(1));
    }

    #[test]
    fn an_equal_file_passes_and_a_different_one_fails() {
        let dir = std::env::temp_dir().join(format!("tunix-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("g.txt"), "one\ntwo\n").expect("write");
        assert_golden(&dir, "g.txt", "one\ntwo\n");
        let differs = std::panic::catch_unwind(|| assert_golden(&dir, "g.txt", "one\n2\n"));
        let message = differs
            .expect_err("a difference fails")
            .downcast::<String>()
            .expect("a message");
        assert!(
            message.contains("differs from the output at line 2"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
