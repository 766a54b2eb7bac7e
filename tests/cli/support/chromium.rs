//! Headless Chromium for the HTML tests: finding the browser (a missing
//! one fails the test unless `TUNIX_SKIP_BROWSER_TESTS=1`) and loading a
//! page in it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to `1` to skip the browser tests on a machine without Chromium; by
/// default a missing browser fails them (a skipped test looks like a passed
/// one in `cargo test`'s summary, and the HTML would go unchecked).
const SKIP_BROWSER_TESTS: &str = "TUNIX_SKIP_BROWSER_TESTS";

/// The names a headless Chromium goes by.
const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The first of [`BROWSERS`] found in the folders of `path` (as in `PATH`).
fn find_browser(path: &OsStr) -> Option<PathBuf> {
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The browser to run: `found`; with none, `Ok(None)` (skip) when `skip`
/// is `Some("1")` (the value of [`SKIP_BROWSER_TESTS`]), else an error
/// saying how to install one.
fn browser_or_skip(
    found: Option<PathBuf>,
    skip: Option<&str>,
) -> Result<Option<PathBuf>, NoBrowser> {
    match (found, skip) {
        (_, Some("1")) => Ok(None),
        (Some(browser), _) => Ok(Some(browser)),
        (None, _) => Err(NoBrowser),
    }
}

/// No headless browser on `PATH`, and the browser tests not skipped.
#[derive(Debug)]
struct NoBrowser;

impl std::fmt::Display for NoBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no headless browser found on PATH (tried {}): install one with `apt-get install chromium`, or set {SKIP_BROWSER_TESTS}=1 to skip the browser tests",
            BROWSERS.join(", ")
        )
    }
}

/// The headless browser for the HTML tests; `None` means skip (only when
/// `TUNIX_SKIP_BROWSER_TESTS=1`, said on stderr). Panics when none is found.
#[allow(clippy::print_stderr)] // a test helper (not a #[test]): says why tests skip
pub fn browser() -> Option<PathBuf> {
    let found = find_browser(&std::env::var_os("PATH").unwrap_or_default());
    let skip = std::env::var(SKIP_BROWSER_TESTS).ok();
    match browser_or_skip(found, skip.as_deref()) {
        Ok(Some(browser)) => Some(browser),
        Ok(None) => {
            eprintln!("skipped: {SKIP_BROWSER_TESTS}=1");
            None
        }
        Err(message) => panic!("{message}"),
    }
}

/// Headless Chromium's flags for the page tests.
const CHROMIUM_FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,1800",
];

/// Load `page` in headless Chromium; returns (DOM after scripts ran, log).
pub fn dom(browser: &Path, page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", page.display());
    let dom = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &url])
        .output()
        .expect("run chromium");
    (
        String::from_utf8_lossy(&dom.stdout).into_owned(),
        String::from_utf8_lossy(&dom.stderr).into_owned(),
    )
}

/// [`dom`], and a screenshot of the page.
pub fn load(browser: &Path, page: &Path, screenshot: &Path) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", page.display());
    let shot = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        screenshot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    dom(browser, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_fails_unless_skipping_is_asked_for() {
        let chromium = PathBuf::from("/usr/bin/chromium");
        let err = browser_or_skip(None, None)
            .expect_err("no browser, no skip")
            .to_string();
        assert!(err.contains("apt-get install chromium"), "{err}");
        assert!(err.contains(SKIP_BROWSER_TESTS), "{err}");
        assert!(browser_or_skip(None, Some("0")).is_err());
        assert_eq!(browser_or_skip(None, Some("1")).ok(), Some(None));
        assert_eq!(
            browser_or_skip(Some(chromium.clone()), Some("1")).ok(),
            Some(None)
        );
        assert_eq!(
            browser_or_skip(Some(chromium.clone()), None).ok(),
            Some(Some(chromium))
        );
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(find_browser(empty.path().as_os_str()), None);
        std::fs::write(empty.path().join("chromium-browser"), "").expect("write");
        assert_eq!(
            find_browser(empty.path().as_os_str()),
            Some(empty.path().join("chromium-browser"))
        );
    }
}
