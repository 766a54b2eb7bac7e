//! The output formats of a report.

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
