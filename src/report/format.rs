//! The output formats of reports and how an output file's name picks one:
//! `-o leaderboard.html` writes HTML without `--format html`.

use std::path::Path;

use crate::error::{Error, Result};

/// The output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML file (inline CSS, SVG and script).
    Html,
    /// GitHub-flavoured Markdown, sized for a pull-request comment.
    Md,
    /// Pretty-printed JSON with a trailing newline.
    Json,
}

/// The output format of `tunix-rt compare`: plain text for a terminal, or
/// one of the report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    /// Plain text: the verdict, its figures and the flipped items.
    Text,
    /// A report format, as `report compare` writes it.
    Report(ReportFormat),
}

/// A set of output formats, each with a name (as `--format` spells it) and
/// the file extensions that ask for it.
pub trait FileFormat: Copy + PartialEq + 'static {
    /// Every format of the set.
    const ALL: &'static [Self];
    /// The name `--format` takes.
    fn name(self) -> &'static str;
    /// File extensions (lower case, without the dot) that mean this format.
    fn extensions(self) -> &'static [&'static str];
}

impl FileFormat for ReportFormat {
    const ALL: &'static [Self] = &[ReportFormat::Html, ReportFormat::Md, ReportFormat::Json];

    fn name(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Md => "md",
            ReportFormat::Json => "json",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            ReportFormat::Html => &["html", "htm"],
            ReportFormat::Md => &["md", "markdown"],
            ReportFormat::Json => &["json"],
        }
    }
}

impl FileFormat for CompareFormat {
    const ALL: &'static [Self] = &[
        CompareFormat::Text,
        CompareFormat::Report(ReportFormat::Html),
        CompareFormat::Report(ReportFormat::Md),
        CompareFormat::Report(ReportFormat::Json),
    ];

    fn name(self) -> &'static str {
        match self {
            CompareFormat::Text => "text",
            CompareFormat::Report(f) => f.name(),
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            CompareFormat::Text => &["txt", "text"],
            CompareFormat::Report(f) => f.extensions(),
        }
    }
}

/// The format of `output` by its extension (case-insensitive); `None` when
/// the extension is missing or names no format of the set.
fn format_of_file<F: FileFormat>(output: &Path) -> Option<F> {
    let ext = output.extension()?.to_str()?.to_ascii_lowercase();
    F::ALL
        .iter()
        .copied()
        .find(|f| f.extensions().contains(&ext.as_str()))
}

/// The format to write: `explicit` (`--format`) when given, which must not
/// contradict the extension of `output`; else the format the extension
/// names; else, with no output file, `default`. A contradiction, or an
/// output file whose extension names no format, is bad input.
pub fn choose_format<F: FileFormat>(
    explicit: Option<F>,
    output: Option<&Path>,
    default: F,
) -> Result<F> {
    let Some(path) = output else {
        return Ok(explicit.unwrap_or(default));
    };
    match (explicit, format_of_file::<F>(path)) {
        (Some(e), Some(inferred)) if e != inferred => Err(Error::bad_input(format!(
            "--format {} contradicts the output file's extension, which means {}; drop --format to write {}, or name the file with {}",
            e.name(),
            inferred.name(),
            inferred.name(),
            extension_list(e)
        ))
        .with_path(path)),
        (Some(e), _) => Ok(e),
        (None, Some(inferred)) => Ok(inferred),
        (None, None) => Err(Error::bad_input(format!(
            "cannot tell the output format from the file's extension; pass --format {}, or end the file name in {}",
            names::<F>(),
            or_list(F::ALL.iter().map(|f| format!(".{}", f.extensions()[0])))
        ))
        .with_path(path)),
    }
}

/// `html|md|json`.
fn names<F: FileFormat>() -> String {
    F::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join("|")
}

/// `a .html or .htm extension`.
fn extension_list<F: FileFormat>(format: F) -> String {
    let exts = format.extensions().iter().map(|e| format!(".{e}"));
    format!("a {} extension", or_list(exts))
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [first @ .., last] => format!("{} or {last}", first.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: ReportFormat = ReportFormat::Html;
    const MD: ReportFormat = ReportFormat::Md;
    const JSON: ReportFormat = ReportFormat::Json;

    fn choose(explicit: Option<ReportFormat>, output: Option<&str>) -> Result<ReportFormat> {
        choose_format(explicit, output.map(Path::new), MD)
    }

    #[test]
    fn the_extension_picks_the_format() {
        for (file, format) in [
            ("reports/leaderboard.html", HTML),
            ("a.htm", HTML),
            ("A.HTML", HTML),
            ("a.md", MD),
            ("a.markdown", MD),
            ("a.json", JSON),
        ] {
            assert_eq!(choose(None, Some(file)).expect(file), format, "{file}");
            assert_eq!(choose(Some(format), Some(file)).expect(file), format);
        }
    }

    #[test]
    fn without_an_output_file_the_default_or_the_flag_wins() {
        assert_eq!(choose(None, None).expect("default"), MD);
        assert_eq!(choose(Some(HTML), None).expect("flag"), HTML);
        assert_eq!(
            choose_format(None, None, CompareFormat::Text).expect("default"),
            CompareFormat::Text
        );
    }

    #[test]
    fn a_contradicting_flag_is_refused_naming_both() {
        let err = choose(Some(MD), Some("reports/leaderboard.html")).expect_err("contradiction");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        assert_eq!(err.path(), Some(Path::new("reports/leaderboard.html")));
        assert_eq!(
            err.message(),
            "--format md contradicts the output file's extension, which means html; drop --format to write html, or name the file with a .md or .markdown extension"
        );
        let err = choose(Some(HTML), Some("a.json")).expect_err("contradiction");
        assert!(
            err.message().ends_with("with a .html or .htm extension"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_extension_needs_the_flag() {
        for file in ["a.txt", "a", "a.html.bak", ".html"] {
            let err = choose(None, Some(file)).expect_err(file);
            assert_eq!(
                err.message(),
                "cannot tell the output format from the file's extension; pass --format html|md|json, or end the file name in .html, .md or .json",
                "{file}"
            );
        }
        assert_eq!(choose(Some(JSON), Some("a.txt")).expect("flag"), JSON);
        assert_eq!(choose(Some(HTML), Some("report")).expect("flag"), HTML);
    }

    #[test]
    fn compare_output_adds_text() {
        let text = choose_format(None, Some(Path::new("c.txt")), CompareFormat::Text);
        assert_eq!(text.expect("txt"), CompareFormat::Text);
        let html = choose_format(None, Some(Path::new("c.html")), CompareFormat::Text);
        assert_eq!(html.expect("html"), CompareFormat::Report(HTML));
        let err = choose_format(
            Some(CompareFormat::Text),
            Some(Path::new("c.json")),
            CompareFormat::Text,
        )
        .expect_err("contradiction");
        assert!(
            err.message().starts_with("--format text contradicts"),
            "{err}"
        );
        let err = choose_format(None, Some(Path::new("c.csv")), CompareFormat::Text)
            .expect_err("unknown");
        assert!(
            err.message().contains("--format text|html|md|json"),
            "{err}"
        );
        assert!(
            err.message().ends_with(".txt, .html, .md or .json"),
            "{err}"
        );
    }
}
