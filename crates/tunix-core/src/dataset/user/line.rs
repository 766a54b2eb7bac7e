//! One line of the user's training data, already parsed as JSON: either
//! `{"prompt": str, "completion": str}` or `{"messages": [{"role", "content"},
//! ...]}`, checked strictly (no other keys), turned into a prompt and a
//! completion, or into every problem found with its JSON pointer.

use serde_json::{Map, Value};

/// The two formats, as the help text shows them.
pub const FORMAT_HELP: &str = r#"each line is {"prompt": "...", "completion": "..."} or {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}"#;

/// How the turns of a conversation must be ordered.
const ORDER_HELP: &str = "after an optional first `system` message, turns alternate `user`, `assistant`, `user`, ... and end with `assistant` (the completion to learn)";

const ROLES: [&str; 3] = ["system", "user", "assistant"];

/// A valid line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub prompt: String,
    pub completion: String,
    /// The user turns of a conversation (empty for prompt/completion
    /// lines): each is checked against the eval sets on its own too, so a
    /// system message in front of an eval question does not hide it.
    pub user_turns: Vec<String>,
}

/// One thing wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// JSON pointer inside the line ("" is the whole line).
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
}

fn problem(
    pointer: impl Into<String>,
    message: impl Into<String>,
    help: Option<&str>,
) -> LineProblem {
    LineProblem {
        pointer: pointer.into(),
        message: message.into(),
        help: help.map(str::to_string),
    }
}

/// What a JSON value is, for messages ("found number `3`").
fn kind(value: &Value) -> String {
    let shown = |v: &Value| {
        let text = v.to_string();
        if text.chars().count() > 40 {
            let cut: String = text.chars().take(40).collect();
            format!("{cut}...")
        } else {
            text
        }
    };
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(_) => format!("string {}", shown(value)),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// Check one line and turn it into a prompt and a completion.
pub fn parse(value: Value) -> Result<Record, Vec<LineProblem>> {
    let Value::Object(map) = value else {
        return Err(vec![problem(
            "",
            format!("expected a JSON object, found {}", kind(&value)),
            Some(FORMAT_HELP),
        )]);
    };
    if map.contains_key("messages") {
        conversation(&map)
    } else {
        prompt_completion(map)
    }
}

fn prompt_completion(mut map: Map<String, Value>) -> Result<Record, Vec<LineProblem>> {
    let mut problems = Vec::new();
    for key in map
        .keys()
        .filter(|k| !["prompt", "completion"].contains(&k.as_str()))
    {
        let help = crate::suggest::help_for(key, &["prompt", "completion", "messages"])
            .unwrap_or_else(|| FORMAT_HELP.to_string());
        problems.push(LineProblem {
            pointer: crate::diagnostic::child_pointer("", key),
            message: format!("unknown key `{key}`"),
            help: Some(help),
        });
    }
    let prompt = string_field(&map, "", "prompt", &mut problems).is_some();
    let completion = string_field(&map, "", "completion", &mut problems);
    if let Some(c) = completion.filter(|c| c.trim().is_empty()) {
        problems.push(problem(
            "/completion",
            format!("`completion` is empty ({c:?})"),
            Some("give the text the model should learn to write after the prompt, or remove the line"),
        ));
    }
    if !(prompt && completion.is_some() && problems.is_empty()) {
        return Err(problems);
    }
    // Both are strings (checked above): moved out, not copied.
    let mut take = |key: &str| match map.remove(key) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    Ok(Record {
        prompt: take("prompt"),
        completion: take("completion"),
        user_turns: Vec::new(),
    })
}

/// `map[key]` as a string, or a problem (missing, or another type).
fn string_field<'a>(
    map: &'a Map<String, Value>,
    base: &str,
    key: &str,
    problems: &mut Vec<LineProblem>,
) -> Option<&'a str> {
    match map.get(key) {
        Some(Value::String(s)) => Some(s),
        None => {
            let (message, help) = if base.is_empty() {
                (format!("missing field `{key}`"), FORMAT_HELP.to_string())
            } else {
                (
                    format!(
                        "missing field `{key}` in message {}",
                        base.rsplit('/').next().unwrap_or_default()
                    ),
                    r#"a message is {"role": "user"|"assistant"|"system", "content": "..."}"#
                        .to_string(),
                )
            };
            problems.push(LineProblem {
                pointer: base.to_string(),
                message,
                help: Some(help),
            });
            None
        }
        Some(other) => {
            problems.push(problem(
                format!("{base}/{key}"),
                format!("`{key}` must be a string, found {}", kind(other)),
                None,
            ));
            None
        }
    }
}

fn conversation(map: &Map<String, Value>) -> Result<Record, Vec<LineProblem>> {
    let mut problems = Vec::new();
    for key in map.keys().filter(|k| k.as_str() != "messages") {
        let message = if key == "prompt" || key == "completion" {
            format!("`{key}` next to `messages`: a line is either `prompt` and `completion`, or `messages`")
        } else {
            format!("unknown key `{key}`")
        };
        problems.push(problem(
            crate::diagnostic::child_pointer("", key),
            message,
            Some(FORMAT_HELP),
        ));
    }
    let turns = match &map["messages"] {
        Value::Array(items) if items.is_empty() => {
            problems.push(problem(
                "/messages",
                "`messages` is empty",
                Some(ORDER_HELP),
            ));
            return Err(problems);
        }
        Value::Array(items) => items,
        other => {
            problems.push(problem(
                "/messages",
                format!(
                    "`messages` must be an array of {{\"role\", \"content\"}} objects, found {}",
                    kind(other)
                ),
                Some(FORMAT_HELP),
            ));
            return Err(problems);
        }
    };
    let mut roles = Vec::with_capacity(turns.len());
    let mut contents = Vec::with_capacity(turns.len());
    for (i, turn) in turns.iter().enumerate() {
        let base = format!("/messages/{i}");
        let Value::Object(m) = turn else {
            problems.push(problem(
                &base,
                format!(
                    "message {i} must be an object with `role` and `content`, found {}",
                    kind(turn)
                ),
                None,
            ));
            continue;
        };
        for key in m
            .keys()
            .filter(|k| !["role", "content"].contains(&k.as_str()))
        {
            problems.push(problem(
                format!("{base}/{}", crate::diagnostic::escape_pointer_token(key)),
                format!("unknown key `{key}` in message {i}"),
                Some("a message has `role` and `content` only"),
            ));
        }
        let role = string_field(m, &base, "role", &mut problems);
        if let Some(role) = role.filter(|r| !ROLES.contains(r)) {
            problems.push(LineProblem {
                pointer: format!("{base}/role"),
                message: format!("unknown role `{role}` in message {i}"),
                help: crate::suggest::help_for(role, &ROLES),
            });
        }
        roles.push(role.unwrap_or_default());
        contents.push(string_field(m, &base, "content", &mut problems).unwrap_or_default());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let start = usize::from(roles[0] == "system");
    for (i, role) in roles.iter().enumerate().skip(start) {
        let expected = if (i - start) % 2 == 0 {
            "user"
        } else {
            "assistant"
        };
        if *role != expected {
            let message = if *role == "system" {
                format!("message {i} is `system`; only the first message may be")
            } else {
                format!("message {i} is `{role}` where `{expected}` was expected")
            };
            return Err(vec![problem(
                format!("/messages/{i}/role"),
                message,
                Some(ORDER_HELP),
            )]);
        }
    }
    let last = roles.len() - 1;
    if roles[last] != "assistant" {
        return Err(vec![problem(
            format!("/messages/{last}/role"),
            format!(
                "the last message is `{}`; the last turn must be `assistant` (the completion to learn)",
                roles[last]
            ),
            Some(ORDER_HELP),
        )]);
    }
    if contents[last].trim().is_empty() {
        return Err(vec![problem(
            format!("/messages/{last}/content"),
            format!(
                "the last assistant turn (the completion) is empty ({:?})",
                contents[last]
            ),
            Some("give the text the model should learn to write, or remove the line"),
        )]);
    }
    let mut parts: Vec<&str> = Vec::new();
    if start == 1 {
        parts.push(contents[0]);
    }
    let user_turns: Vec<String> = roles[..last]
        .iter()
        .zip(&contents[..last])
        .filter(|(r, _)| **r == "user")
        .map(|(_, c)| c.to_string())
        .collect();
    parts.extend(user_turns.iter().map(String::as_str));
    Ok(Record {
        prompt: parts.join("\n"),
        completion: contents[last].to_string(),
        user_turns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> Vec<LineProblem> {
        parse(value).expect_err("a problem")
    }

    #[test]
    fn prompt_and_completion_lines_keep_their_text() {
        let r = parse(json!({"prompt": "Q\nmore", "completion": "A: 1\nAnswer: 2"})).unwrap();
        assert_eq!(r.prompt, "Q\nmore");
        assert_eq!(r.completion, "A: 1\nAnswer: 2");
        assert!(r.user_turns.is_empty());
    }

    #[test]
    fn a_conversation_becomes_system_and_user_turns_then_the_last_answer() {
        let r = parse(json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "and 3+3?"},
            {"role": "assistant", "content": "6"},
        ]}))
        .unwrap();
        assert_eq!(r.prompt, "Be brief.\n2+2?\nand 3+3?");
        assert_eq!(r.completion, "6");
        assert_eq!(r.user_turns, vec!["2+2?", "and 3+3?"]);
        let plain = parse(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ]}))
        .unwrap();
        assert_eq!(
            (plain.prompt.as_str(), plain.completion.as_str()),
            ("hi", "hello")
        );
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let p = err(json!({"prompt": "q"}));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].message, "missing field `completion`");
        let p = err(json!({"prompt": 3, "completion": "a"}));
        assert_eq!(p[0].pointer, "/prompt");
        assert_eq!(p[0].message, "`prompt` must be a string, found number `3`");
        let p = err(json!(["prompt"]));
        assert_eq!(p[0].message, "expected a JSON object, found an array");
    }

    #[test]
    fn unknown_keys_are_refused_with_a_suggestion() {
        let p = err(json!({"prompt": "q", "completion": "a", "complete": "x"}));
        assert_eq!(p[0].pointer, "/complete");
        assert_eq!(p[0].message, "unknown key `complete`");
        assert_eq!(p[0].help.as_deref(), Some("did you mean `completion`?"));
        let p = err(json!({"messages": [], "prompt": "q"}));
        assert!(
            p[0].message.starts_with("`prompt` next to `messages`"),
            "{p:?}"
        );
        let p = err(json!({"messages": [{"role": "user", "content": "q", "name": "x"}]}));
        assert_eq!(p[0].pointer, "/messages/0/name");
    }

    #[test]
    fn an_empty_completion_is_refused() {
        let p = err(json!({"prompt": "q", "completion": "  "}));
        assert_eq!(p[0].pointer, "/completion");
        assert!(p[0].message.starts_with("`completion` is empty"));
        let p = err(json!({"messages": [
            {"role": "user", "content": "q"}, {"role": "assistant", "content": ""}
        ]}));
        assert_eq!(p[0].pointer, "/messages/1/content");
    }

    #[test]
    fn roles_must_alternate_and_end_with_the_assistant() {
        let p = err(json!({"messages": [
            {"role": "user", "content": "a"}, {"role": "user", "content": "b"}
        ]}));
        assert_eq!(p[0].pointer, "/messages/1/role");
        assert_eq!(
            p[0].message,
            "message 1 is `user` where `assistant` was expected"
        );
        let p = err(json!({"messages": [
            {"role": "assistant", "content": "a"}
        ]}));
        assert_eq!(
            p[0].message,
            "message 0 is `assistant` where `user` was expected"
        );
        let p = err(json!({"messages": [{"role": "system", "content": "s"}]}));
        assert!(p[0].message.starts_with("the last message is `system`"));
        let p = err(json!({"messages": [
            {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"}
        ]}));
        assert_eq!(p[0].pointer, "/messages/2/role");
        assert!(p[0].message.starts_with("the last message is `user`"));
        let p = err(json!({"messages": [
            {"role": "user", "content": "a"}, {"role": "system", "content": "b"}
        ]}));
        assert_eq!(
            p[0].message,
            "message 1 is `system`; only the first message may be"
        );
    }

    #[test]
    fn unknown_roles_and_bad_messages_are_named() {
        let p = err(json!({"messages": [
            {"role": "tool", "content": "a"}, {"role": "assistant", "content": "b"}
        ]}));
        assert_eq!(p[0].pointer, "/messages/0/role");
        assert_eq!(p[0].message, "unknown role `tool` in message 0");
        let p = err(json!({"messages": [{"role": "user"}]}));
        assert_eq!(p[0].message, "missing field `content` in message 0");
        let p = err(json!({"messages": "hi"}));
        assert_eq!(p[0].pointer, "/messages");
        let p = err(json!({"messages": []}));
        assert_eq!(p[0].message, "`messages` is empty");
    }
}
