//! A Hugging Face model folder's own chat template, rendered with minijinja
//! the way transformers' `apply_chat_template(messages,
//! add_generation_prompt=True, tokenize=False)` renders it: one user turn
//! (the eval item's prompt), the generation prompt added.
//!
//! The template is `chat_template.jinja` in the folder when that file
//! exists (transformers prefers it), otherwise tokenizer_config.json's
//! `chat_template`: a string, or a list of `{name, template}` of which the
//! one named `default` is used. The environment matches transformers':
//! `trim_blocks` and `lstrip_blocks` on, Python string and dict methods
//! (`.strip()`, `.startswith()`, `.items()`, … through minijinja-contrib's
//! pycompat), the variables `messages`, `add_generation_prompt`,
//! `bos_token` and `eos_token` (strings or `{"content": …}` objects in
//! tokenizer_config.json), and the helpers `raise_exception(msg)` (an error
//! naming the template) and `strftime_now(format)` (UTC).

use std::path::{Path, PathBuf};

use minijinja::{Environment, Error as JinjaError, ErrorKind, Value};
use serde_json::Value as Json;

use crate::error::{Error, Result};

/// A separate template file, preferred over tokenizer_config.json's key.
pub const CHAT_TEMPLATE_FILE: &str = "chat_template.jinja";
/// The tokenizer's configuration, which may hold `chat_template`.
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";

/// A model folder's chat template and the special tokens it may use.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    /// The template's source text.
    pub source: String,
    /// The file it was read from.
    pub path: PathBuf,
    pub bos_token: String,
    pub eos_token: String,
}

fn read_json(path: &Path) -> Result<Option<Json>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::bad_input("cannot read the tokenizer configuration")
            .with_path(path)
            .with_source(e)
    })?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::bad_input(format!("not JSON: {e}")).with_path(path))
}

/// A special token as tokenizer_config.json writes it: a string or an
/// object with `content`.
fn token(config: &Json, key: &str) -> String {
    match &config[key] {
        Json::String(s) => s.clone(),
        Json::Object(o) => o
            .get("content")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

/// The folder's chat template, or `None` when it has none.
pub fn load(dir: &Path) -> Result<Option<ChatTemplate>> {
    let config_path = dir.join(TOKENIZER_CONFIG);
    let config = read_json(&config_path)?.unwrap_or(Json::Null);
    let (bos_token, eos_token) = (token(&config, "bos_token"), token(&config, "eos_token"));
    let file = dir.join(CHAT_TEMPLATE_FILE);
    if file.is_file() {
        let source = std::fs::read_to_string(&file).map_err(|e| {
            Error::bad_input("cannot read the chat template")
                .with_path(&file)
                .with_source(e)
        })?;
        return Ok(Some(ChatTemplate {
            source,
            path: file,
            bos_token,
            eos_token,
        }));
    }
    let source = match &config["chat_template"] {
        Json::Null => return Ok(None),
        Json::String(s) => s.clone(),
        Json::Array(named) => {
            let default = named
                .iter()
                .find(|t| t["name"].as_str() == Some("default"))
                .and_then(|t| t["template"].as_str());
            match default {
                Some(s) => s.to_string(),
                None => return Ok(None),
            }
        }
        _ => {
            return Err(Error::bad_input(
                "`chat_template` is neither a string nor a list of named templates",
            )
            .with_path(&config_path))
        }
    };
    Ok(Some(ChatTemplate {
        source,
        path: config_path,
        bos_token,
        eos_token,
    }))
}

fn raise_exception(message: String) -> std::result::Result<Value, JinjaError> {
    Err(JinjaError::new(ErrorKind::InvalidOperation, message))
}

/// Today's UTC date (`%Y-%m-%d`), as a template calling `strftime_now`
/// sees it now.
pub fn today() -> String {
    strftime_now("%Y-%m-%d".to_string())
}

fn strftime_now(format: String) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    strftime(&format, secs)
}

/// The UTC time `secs` after the epoch through a C `strftime` format
/// (%Y %y %m %d %e %H %M %S %b %B %a %A %j %%); other directives are kept.
fn strftime(format: &str, secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][(month - 1) as usize];
    let yday = before + day + i64::from(leap && month > 2);
    let name = MONTHS[(month - 1) as usize];
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out += &year.to_string(),
            Some('y') => out += &format!("{:02}", year % 100),
            Some('m') => out += &format!("{month:02}"),
            Some('d') => out += &format!("{day:02}"),
            Some('e') => out += &format!("{day:2}"),
            Some('H') => out += &format!("{:02}", rem / 3600),
            Some('M') => out += &format!("{:02}", rem / 60 % 60),
            Some('S') => out += &format!("{:02}", rem % 60),
            Some('b') => out += &name[..3],
            Some('B') => out += name,
            Some('a') => out += &weekday[..3],
            Some('A') => out += weekday,
            Some('j') => out += &format!("{yday:03}"),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

impl ChatTemplate {
    /// Whether the template reads the date (`strftime_now`), so that its
    /// rendering depends on the day (Llama 3.1/3.2 put it in the system
    /// turn).
    pub fn reads_the_date(&self) -> bool {
        self.source.contains("strftime_now")
    }

    /// `prompt` as the user turn, the generation prompt added.
    pub fn render(&self, prompt: &str) -> Result<String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        let located = |e: JinjaError| {
            Error::bad_input(format!("the model's chat template does not render: {e:#}"))
                .with_path(&self.path)
        };
        let template = env.template_from_str(&self.source).map_err(located)?;
        let ctx = minijinja::context! {
            messages => vec![minijinja::context! { role => "user", content => prompt }],
            add_generation_prompt => true,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        template.render(ctx).map_err(located)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/tunix-torch/tests/fixtures/hf")
            .join(name)
    }

    #[test]
    fn renders_as_transformers_apply_chat_template() {
        let dir = fixture("qwen2-tied");
        let reference: Json =
            serde_json::from_slice(&std::fs::read(dir.join("chat_template.json")).unwrap())
                .unwrap();
        let template = load(&dir).unwrap().expect("qwen2-tied has a chat template");
        let cases = reference["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let prompt = case["prompt"].as_str().unwrap();
            assert_eq!(
                template.render(prompt).unwrap(),
                case["rendered"].as_str().unwrap(),
                "{prompt:?}"
            );
        }
    }

    #[test]
    fn a_folder_without_a_template_has_none() {
        assert!(load(&fixture("llama-gqa")).unwrap().is_none());
    }

    #[test]
    fn named_templates_file_precedence_and_token_objects() {
        let dir = std::env::temp_dir().join(format!("tunix-chat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = serde_json::json!({
            "bos_token": { "content": "<s>", "lstrip": false },
            "eos_token": "</s>",
            "chat_template": [
                { "name": "tool_use", "template": "tools" },
                { "name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m['role'] | upper }}] {{ m.content.strip() }}{% endfor %}{% if add_generation_prompt %}>{% endif %}{{ eos_token }}" },
            ],
        });
        std::fs::write(dir.join(TOKENIZER_CONFIG), config.to_string()).unwrap();
        let t = load(&dir).unwrap().unwrap();
        assert_eq!(t.render("  hi  ").unwrap(), "<s>[USER] hi></s>");
        std::fs::write(
            dir.join(CHAT_TEMPLATE_FILE),
            "{% if not messages[0].content.startswith('x') %}{{ raise_exception('Only x prompts') }}{% endif %}ok",
        )
        .unwrap();
        let t = load(&dir).unwrap().unwrap();
        assert_eq!(t.render("xyz").unwrap(), "ok");
        let err = t.render("abc").unwrap_err().to_string();
        assert!(err.contains("Only x prompts"), "{err}");
        assert!(err.contains(CHAT_TEMPLATE_FILE), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn strftime_formats_utc() {
        // 2024-07-23 12:34:56 UTC, a Tuesday.
        assert_eq!(
            strftime("%d %b %Y %H:%M:%S %A %j %%", 1_721_738_096),
            "23 Jul 2024 12:34:56 Tuesday 205 %"
        );
    }
}
