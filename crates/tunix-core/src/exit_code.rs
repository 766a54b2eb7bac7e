//! The process exit codes, defined once: the `--help` footer and the
//! README's table (between `<!-- exit-codes:begin -->` and
//! `<!-- exit-codes:end -->`) are both rendered from [`EXIT_CODES`].

use std::sync::OnceLock;

/// Success (also when stdout's reader closed it early, e.g. `| head`).
pub const EXIT_OK: i32 = 0;
/// A check ran and failed (stale schema, regression, determinism mismatch).
pub const EXIT_CHECK_FAILED: i32 = 1;
/// Bad input or usage.
pub const EXIT_BAD_INPUT: i32 = 2;
/// A runtime failure (I/O, libtorch, database).
pub const EXIT_RUNTIME: i32 = 3;
/// Interrupted by SIGINT (Ctrl-C): 128 + 2, as a shell reports it.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Terminated by SIGTERM: 128 + 15, as a shell reports it.
pub const EXIT_TERMINATED: i32 = 143;

/// Every exit code the binary uses, with its meaning.
pub const EXIT_CODES: &[(i32, &str)] = &[
    (EXIT_OK, "success"),
    (
        EXIT_CHECK_FAILED,
        "a check failed (stale schema, regression, determinism mismatch)",
    ),
    (
        EXIT_BAD_INPUT,
        "bad input or usage (invalid manifest, eval set or flags)",
    ),
    (EXIT_RUNTIME, "runtime failure (I/O, libtorch, database)"),
    (EXIT_INTERRUPTED, "interrupted by SIGINT (Ctrl-C)"),
    (EXIT_TERMINATED, "terminated by SIGTERM"),
];

/// The `--help` footer: "Exit codes:" and one indented line per code.
pub fn help_footer() -> &'static str {
    static FOOTER: OnceLock<String> = OnceLock::new();
    FOOTER.get_or_init(|| {
        let width = EXIT_CODES
            .iter()
            .map(|(code, _)| code.to_string().len())
            .max()
            .unwrap_or(1);
        let lines: Vec<String> = EXIT_CODES
            .iter()
            .map(|(code, meaning)| format!("  {code:<width$}  {meaning}"))
            .collect();
        format!("Exit codes:\n{}", lines.join("\n"))
    })
}

/// The table as Markdown: a `| code | meaning |` header, then one row per
/// code, each line ending in a newline.
pub fn markdown_table() -> String {
    let mut out = String::from("| code | meaning |\n| --- | --- |\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- exit-codes:begin -->";
    const END: &str = "<!-- exit-codes:end -->";

    #[test]
    fn the_help_footer_lists_every_code_once() {
        let footer = help_footer();
        assert!(
            footer.starts_with("Exit codes:\n  0    success\n"),
            "{footer}"
        );
        assert!(footer.contains("\n  130  interrupted by SIGINT (Ctrl-C)"));
        assert!(!footer.contains("not available in this version"));
        assert_eq!(footer.lines().count(), EXIT_CODES.len() + 1);
    }

    #[test]
    fn the_readme_table_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let start = readme.find(BEGIN).unwrap_or_else(|| {
            panic!("README.md has no `{BEGIN}` line; put the exit-code table between {BEGIN} and {END}")
        });
        let rest = &readme[start + BEGIN.len()..];
        let end = rest
            .find(END)
            .unwrap_or_else(|| panic!("README.md has `{BEGIN}` but no `{END}` after it"));
        let block: Vec<&str> = rest[..end]
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let table = markdown_table();
        let generated: Vec<&str> = table.lines().collect();
        assert_eq!(
            block, generated,
            "the exit-code table in README.md differs from src/exit_code.rs; write exactly:\n{table}"
        );
    }
}
