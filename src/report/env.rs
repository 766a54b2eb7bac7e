//! The minijinja environment: built-in templates, overrides from a folder,
//! autoescaping (HTML, or Markdown for `.md.j2`), strict undefined values and
//! the number filters available to template authors.

use std::path::{Component, Path, PathBuf};

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::{num, ReportError};

/// The leaderboard as HTML.
pub const LEADERBOARD_HTML: &str = "leaderboard.html.j2";
/// The leaderboard as Markdown.
pub const LEADERBOARD_MD: &str = "leaderboard.md.j2";
/// The comparison as HTML.
pub const COMPARE_HTML: &str = "compare.html.j2";
/// The comparison as Markdown.
pub const COMPARE_MD: &str = "compare.md.j2";
/// The comparison of N runs as HTML.
pub const COMPARE_MANY_HTML: &str = "compare_many.html.j2";
/// The comparison of N runs as Markdown.
pub const COMPARE_MANY_MD: &str = "compare_many.md.j2";
/// The runs' curves, final metrics and config differences as HTML
/// sections: included by `compare_many.html.j2`, added to the paired
/// comparison of two runs.
pub const COMPARE_RUNS_HTML: &str = "compare_runs.html.j2";
/// The runs' final metrics and config differences as Markdown sections.
pub const COMPARE_RUNS_MD: &str = "compare_runs.md.j2";
/// The sweep report as HTML.
pub const SWEEP_HTML: &str = "sweep.html.j2";
/// The sweep report as Markdown.
pub const SWEEP_MD: &str = "sweep.md.j2";
/// The static site's front page.
pub const SITE_INDEX_HTML: &str = "site_index.html.j2";
/// A run's page in the static site.
pub const SITE_RUN_HTML: &str = "site_run.html.j2";
/// The script of every HTML report's tables (sorting, filtering, paging),
/// included by the HTML templates.
pub const TABLES_JS: &str = "tables.js.j2";

/// The built-in templates, by file name.
const BUILTIN: [(&str, &str); 13] = [
    (
        LEADERBOARD_HTML,
        include_str!("../../templates/leaderboard.html.j2"),
    ),
    (
        LEADERBOARD_MD,
        include_str!("../../templates/leaderboard.md.j2"),
    ),
    (
        COMPARE_HTML,
        include_str!("../../templates/compare.html.j2"),
    ),
    (COMPARE_MD, include_str!("../../templates/compare.md.j2")),
    (
        COMPARE_MANY_HTML,
        include_str!("../../templates/compare_many.html.j2"),
    ),
    (
        COMPARE_MANY_MD,
        include_str!("../../templates/compare_many.md.j2"),
    ),
    (
        COMPARE_RUNS_HTML,
        include_str!("../../templates/compare_runs.html.j2"),
    ),
    (
        COMPARE_RUNS_MD,
        include_str!("../../templates/compare_runs.md.j2"),
    ),
    (SWEEP_HTML, include_str!("../../templates/sweep.html.j2")),
    (SWEEP_MD, include_str!("../../templates/sweep.md.j2")),
    (TABLES_JS, include_str!("../../templates/tables.js.j2")),
    (
        SITE_INDEX_HTML,
        include_str!("../../templates/site_index.html.j2"),
    ),
    (
        SITE_RUN_HTML,
        include_str!("../../templates/site_run.html.j2"),
    ),
];

/// The custom autoescape mode of Markdown templates.
const MARKDOWN: AutoEscape = AutoEscape::Custom("markdown");

/// An environment with the built-in templates, each replaced by the file of
/// the same name in `overrides` when there is one.
pub fn environment(overrides: Option<&Path>) -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(auto_escape);
    env.set_formatter(format_value);
    env.add_filter("num", filter_num);
    env.add_filter("signed", filter_signed);
    env.add_filter("pvalue", filter_pvalue);
    if let Some(dir) = overrides.filter(|d| !d.is_dir()) {
        return Err(ReportError::new(format!(
            "templates folder {} does not exist",
            dir.display()
        )));
    }
    for (name, builtin) in BUILTIN {
        let source = match overrides {
            Some(dir) => read_override(dir, name)?.unwrap_or_else(|| builtin.to_string()),
            None => builtin.to_string(),
        };
        env.add_template_owned(name, source)?;
    }
    if let Some(dir) = overrides {
        let dir = dir.to_path_buf();
        env.set_loader(move |name| load_extra(&dir, name));
    }
    Ok(env)
}

/// Markdown escaping for `*.md.j2` / `*.md`, HTML escaping for every other
/// template, so that nothing is ever rendered unescaped by default.
fn auto_escape(name: &str) -> AutoEscape {
    let name = name.strip_suffix(".j2").unwrap_or(name);
    if name.ends_with(".md") {
        MARKDOWN
    } else {
        AutoEscape::Html
    }
}

/// The minijinja formatter: Markdown escaping for Markdown templates, the
/// default (HTML) escaping otherwise. Values marked safe pass unchanged.
fn format_value(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    if state.auto_escape() == MARKDOWN && !value.is_safe() {
        out.write_str(&markdown_escape(&value.to_string()))
            .map_err(|e| Error::new(ErrorKind::WriteFailure, "cannot write output").with_source(e))
    } else {
        minijinja::escape_formatter(out, state, value)
    }
}

/// Text made inert inside Markdown (a table cell, a heading, a paragraph):
/// `< > &` become HTML entities (GitHub renders inline HTML), Markdown
/// punctuation gets a backslash (so data cannot make links, emphasis, code
/// spans or math, nor end a table cell; an `_` inside a word is left alone,
/// as it cannot start emphasis), and line breaks become `<br>`.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if intraword(previous, chars.peek().copied()) => out.push(c),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        previous = Some(c);
    }
    out
}

/// Whether an `_` between `before` and `after` is inside a word, where
/// GitHub never reads it as emphasis (`eval_v2` stays readable).
fn intraword(before: Option<char>, after: Option<char>) -> bool {
    before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric)
}

/// `{{ x|num }}`: 4 decimals, `—` for none.
fn filter_num(value: Value) -> String {
    num::fixed(as_number(&value))
}

/// `{{ x|signed }}`: 4 decimals with a sign, `—` for none.
fn filter_signed(value: Value) -> String {
    num::signed(as_number(&value))
}

/// `{{ p|pvalue }}`: 4 decimals, scientific below 0.0001, `—` for none.
fn filter_pvalue(value: Value) -> String {
    num::p_value(as_number(&value))
}

/// The number in `value`, if it holds one.
fn as_number(value: &Value) -> Option<f64> {
    if value.is_number() {
        f64::try_from(value.clone()).ok()
    } else {
        None
    }
}

/// An override file's text; `None` when `dir` has no file of that name.
fn read_override(dir: &Path, name: &str) -> Result<Option<String>, ReportError> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| ReportError::new(format!("cannot read template {}: {e}", path.display())))
}

/// The loader behind `{% include %}` / `{% import %}` of files in the
/// override folder. Names must be plain relative paths inside the folder.
fn load_extra(dir: &Path, name: &str) -> Result<Option<String>, Error> {
    let Some(path) = contained_path(dir, name) else {
        return Err(Error::new(
            ErrorKind::TemplateNotFound,
            format!("template name `{name}` must be a relative path inside the templates folder"),
        ));
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot read {}", path.display()),
        )
        .with_source(e)),
    }
}

/// `dir/name` when `name` is made only of normal path components.
fn contained_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let relative = Path::new(name);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    (plain && !name.is_empty() && !name.contains('\\')).then(|| dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOADS: [&str; 3] = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "{{ 7*7 }}",
    ];

    fn render(env: &Environment<'_>, source: &str, name: &str, data: &str) -> String {
        env.render_named_str(name, source, minijinja::context! { data => data })
            .expect("render")
    }

    #[test]
    fn markdown_escaping_neutralizes_html_and_markdown() {
        assert_eq!(markdown_escape("a|b"), "a\\|b");
        assert_eq!(markdown_escape("a\\|b"), "a\\\\\\|b");
        assert_eq!(markdown_escape("x\r\ny\nz"), "x<br>y<br>z");
        assert_eq!(
            markdown_escape("3*12=36 [a](b) `c` $5 ~~d~~ e_f"),
            "3\\*12=36 \\[a\\](b) \\`c\\` \\$5 \\~\\~d\\~\\~ e_f"
        );
        assert_eq!(
            markdown_escape("<b>&amp;</b>"),
            "&lt;b&gt;&amp;amp;&lt;/b&gt;"
        );
        assert_eq!(markdown_escape("plain text 0.75, é"), "plain text 0.75, é");
        assert_eq!(
            markdown_escape("eval_v2 _it_ a__b x_"),
            "eval_v2 \\_it\\_ a\\_\\_b x\\_"
        );
    }

    #[test]
    fn every_template_kind_is_autoescaped() {
        assert_eq!(auto_escape("leaderboard.html.j2"), AutoEscape::Html);
        assert_eq!(auto_escape("compare.md.j2"), MARKDOWN);
        assert_eq!(auto_escape("notes.md"), MARKDOWN);
        assert_eq!(auto_escape("partial.txt.j2"), AutoEscape::Html);
    }

    #[test]
    fn payloads_stay_literal_text() {
        let env = environment(None).expect("env");
        for payload in PAYLOADS {
            for name in ["t.html.j2", "t.md.j2"] {
                let out = render(&env, "{{ data }}", name, payload);
                assert!(
                    !out.contains('<') && !out.contains('>') && !out.contains("49"),
                    "{name}: {out}"
                );
            }
        }
        assert_eq!(
            render(&env, "{{ data }}", "t.html.j2", "<img src=x>"),
            "&lt;img src=x&gt;"
        );
        assert_eq!(
            render(&env, "{{ data }}", "t.md.j2", "<img src=x>"),
            "&lt;img src=x&gt;"
        );
        assert_eq!(
            render(&env, "{{ data }}", "t.html.j2", "{{ 7*7 }}"),
            "{{ 7*7 }}"
        );
        assert_eq!(
            render(&env, "{{ data }}", "t.md.j2", "{{ 7*7 }}"),
            "{{ 7\\*7 }}"
        );
    }

    #[test]
    fn undefined_values_are_errors() {
        let env = environment(None).expect("env");
        let err = env
            .render_named_str("t.html.j2", "{{ missing }}", ())
            .expect_err("strict");
        assert_eq!(err.kind(), ErrorKind::UndefinedError);
    }

    #[test]
    fn filters_format_numbers() {
        let env = environment(None).expect("env");
        let out = env
            .render_named_str(
                "t.md.j2",
                "{{ 0.75|num }} {{ none|num }} {{ 0.083|signed }} {{ 0.00001|pvalue }}",
                (),
            )
            .expect("render");
        assert_eq!(out, "0.7500 — +0.0830 1.0e-5");
    }

    #[test]
    fn overrides_replace_builtins_by_name_and_fall_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(LEADERBOARD_MD),
            "custom {% include \"part.md.j2\" %}",
        )
        .expect("write");
        std::fs::write(dir.path().join("part.md.j2"), "part {{ 1|num }}").expect("write");
        let env = environment(Some(dir.path())).expect("env");
        let custom = env
            .get_template(LEADERBOARD_MD)
            .expect("template")
            .render(())
            .expect("render");
        assert_eq!(custom, "custom part 1.0000");
        let builtin = env.get_template(COMPARE_MD).expect("template");
        assert_eq!(builtin.source(), BUILTIN[3].1);
    }

    #[test]
    fn every_html_report_includes_the_tables_script_which_can_be_overridden() {
        let builtin = environment(None).expect("env");
        let script = builtin.get_template(TABLES_JS).expect("partial");
        assert!(script.source().contains("function sortBody"));
        for name in [
            LEADERBOARD_HTML,
            COMPARE_HTML,
            SWEEP_HTML,
            SITE_INDEX_HTML,
            SITE_RUN_HTML,
        ] {
            let template = builtin.get_template(name).expect("template");
            assert!(
                template
                    .source()
                    .contains("<script>\n{% include \"tables.js.j2\" %}\n</script>"),
                "{name} does not include the tables script"
            );
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(TABLES_JS), "/* site script */\n").expect("write");
        std::fs::write(
            dir.path().join(LEADERBOARD_HTML),
            "<script>\n{% include \"tables.js.j2\" %}\n</script>",
        )
        .expect("write");
        let env = environment(Some(dir.path())).expect("env");
        let html = env
            .get_template(LEADERBOARD_HTML)
            .expect("template")
            .render(())
            .expect("render");
        assert_eq!(html, "<script>\n/* site script */\n</script>");
    }

    #[test]
    fn a_missing_override_folder_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = environment(Some(&missing)).expect_err("missing folder");
        assert!(err.message.contains("does not exist"), "{}", err.message);
    }

    #[test]
    fn render_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(LEADERBOARD_MD), "ok\n{{ nope }}").expect("write");
        let env = environment(Some(dir.path())).expect("env");
        let err = env
            .get_template(LEADERBOARD_MD)
            .expect("template")
            .render(())
            .expect_err("undefined");
        let message = ReportError::from(err).message;
        assert!(message.contains("leaderboard.md.j2:2"), "{message}");
    }

    #[test]
    fn override_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(COMPARE_HTML), "ok\n{% if %}").expect("write");
        let err = environment(Some(dir.path())).expect_err("syntax error");
        assert!(err.message.contains("compare.html.j2:2"), "{}", err.message);
    }

    #[test]
    fn includes_cannot_leave_the_override_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(LEADERBOARD_MD),
            "{% include \"../secret\" %}",
        )
        .expect("write");
        let env = environment(Some(dir.path())).expect("env");
        let err = env
            .get_template(LEADERBOARD_MD)
            .expect("template")
            .render(())
            .expect_err("escape");
        let message = ReportError::from(err).message;
        assert!(message.contains("../secret"), "{message}");
        assert!(contained_path(Path::new("/t"), "/etc/passwd").is_none());
        assert!(contained_path(Path::new("/t"), "a/../b").is_none());
        assert_eq!(
            contained_path(Path::new("/t"), "a/b.j2"),
            Some(PathBuf::from("/t/a/b.j2"))
        );
    }
}
