//! Shell quoting for the job scripts tunix-rt writes: every name, path and
//! value in a script goes through [`quote`], so no value can end a word,
//! start a command, expand, or break the line it is on.

/// `value` as one bash word that expands to exactly `value`: single quotes
/// (`'it'\''s'`) for printable text; ANSI-C quoting (`$'a\nb'`) when it
/// holds control characters, so a quoted word never spans two lines (a
/// newline inside a `#` comment would otherwise start a command).
pub fn quote(value: &str) -> String {
    if value.is_empty() {
        return "''".to_string();
    }
    if !value.chars().any(char::is_control) {
        return format!("'{}'", value.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str(r"\'"),
            '\n' => out.push_str(r"\n"),
            '\t' => out.push_str(r"\t"),
            '\r' => out.push_str(r"\r"),
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!(r"\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The words of a command line, each quoted, joined by spaces.
pub fn command_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    /// What bash makes of `printf '%s\0' <quoted>`: the words it sees.
    fn bash_words(script: &str) -> Vec<String> {
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .expect("bash");
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        text.split_terminator('\0').map(str::to_string).collect()
    }

    const HOSTILE: &[&str] = &[
        "$(touch pwned)",
        "`touch pwned`",
        "it's",
        "\"double\"",
        "a b  c",
        "line\nbreak; touch pwned",
        "semi;colon && touch pwned | cat",
        "back\\slash",
        "tab\there",
        "$HOME ${HOME} ~ * ? [a]",
        "'",
        "\u{7}bell\u{1b}[31m",
        "",
    ];

    #[test]
    fn hostile_values_stay_one_word_and_run_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let words: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        let script = format!(
            "cd {} && printf '%s\\0' {}",
            quote(&dir.path().display().to_string()),
            command_line(&words)
        );
        assert_eq!(bash_words(&script), words);
        assert!(!dir.path().join("pwned").exists());
    }

    #[test]
    fn a_quoted_word_never_spans_lines() {
        for value in HOSTILE {
            assert!(!quote(value).contains('\n'), "{value:?}");
        }
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("a\nb"), r"$'a\nb'");
    }

    proptest! {
        #[test]
        fn any_text_round_trips_through_bash(value in "\\PC*|[\\x01-\\x1f'\"$`\\\\ ;\n]{0,12}") {
            prop_assume!(!value.contains('\0'));
            let script = format!("printf '%s\\0' {}", quote(&value));
            let words = bash_words(&script);
            prop_assert_eq!(words, vec![value.clone()]);
        }
    }
}
