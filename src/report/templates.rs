//! The report templates (built-ins, optionally overridden from a folder)
//! and the marker for text that needs no escaping.

use std::path::Path;

use serde::Serialize;

use super::{env, ReportError};

/// The report templates: the built-ins, optionally overridden from a folder.
#[derive(Debug)]
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    /// Built-in templates (embedded with `include_str!` from `templates/`).
    pub fn builtin() -> Result<Templates, ReportError> {
        env::environment(None).map(|env| Templates { env })
    }

    /// Templates from `dir` override the built-ins of the same file name
    /// (`leaderboard.html.j2`, `leaderboard.md.j2`, `compare.html.j2`,
    /// `compare.md.j2`, `sweep.html.j2`, `sweep.md.j2`, the static site's
    /// `site_index.html.j2` and `site_run.html.j2`, and `tables.js.j2`,
    /// the tables' script the HTML reports include); a missing file falls
    /// back to the built-in. Other files in `dir` can be included or
    /// imported by name from templates.
    pub fn with_overrides(dir: &Path) -> Result<Templates, ReportError> {
        env::environment(Some(dir)).map(|env| Templates { env })
    }

    /// Render template `name` with `context`.
    pub(super) fn render<S: Serialize>(
        &self,
        name: &str,
        context: S,
    ) -> Result<String, ReportError> {
        let template = self.env.get_template(name)?;
        Ok(template.render(context)?)
    }
}

/// Text the reports build from numbers and fixed words, marked safe so
/// that neither HTML nor Markdown escaping touches it. Never call this on
/// text that contains data from a run.
pub(super) fn trusted(text: String) -> minijinja::Value {
    debug_assert!(
        !text.contains(['<', '>', '&', '"', '\'', '|', '\n', '\\', '*', '_', '`']),
        "not trusted text: {text}"
    );
    minijinja::Value::from_safe_string(text)
}
