//! Writing the site's pages into a folder as a whole: the pages are built
//! into a temporary folder beside the target, which then takes the
//! target's place by rename, so a reader (or a static host) sees the old
//! site or the new one, never half of one. Only a folder that holds an
//! earlier site (its [`MARKER`] file), an empty folder or nothing is
//! replaced; any other folder is refused, so a mistyped `-o` never
//! deletes anything else.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::site::SitePage;

/// The file that marks a folder as a site this command wrote (and may
/// replace).
pub const MARKER: &str = ".tunix-rt-site";

/// Tells GitHub Pages to serve the files as they are (without it, Jekyll
/// leaves out files whose names start with `_`).
const NO_JEKYLL: &str = ".nojekyll";

/// What the marker file says.
const MARKER_TEXT: &str = "This folder is a static site written by `tunix-rt report site`; running the command again replaces the whole folder.\n";

/// Refuse `dir` unless a site may be written there: it does not exist, or
/// it is an empty folder, or a folder holding an earlier site (bad input
/// otherwise: nothing is written).
pub fn check_target(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("look at the output folder", dir, e)),
    };
    if !meta.is_dir() {
        return Err(Error::bad_input(format!(
            "{} exists and is not a folder: the site is written into a folder of its own; choose another -o",
            dir.display()
        ))
        .with_path(dir));
    }
    if dir.join(MARKER).is_file() || is_empty_dir(dir)? {
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "{} is a folder that holds something else than a site written by `tunix-rt report site` (it has no {MARKER} file); the site replaces its folder as a whole, so choose a new or empty folder",
        dir.display()
    ))
    .with_path(dir))
}

/// Whether `dir` is a folder without entries.
fn is_empty_dir(dir: &Path) -> Result<bool> {
    let mut entries =
        std::fs::read_dir(dir).map_err(|e| Error::io("list the output folder", dir, e))?;
    Ok(entries.next().is_none())
}

/// Write `pages` as the site in `dir`, replacing an earlier site there
/// (see [`check_target`]).
pub fn publish(dir: &Path, pages: &[SitePage]) -> Result<()> {
    check_target(dir)?;
    let targets = page_paths(pages)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::bad_input(format!(
                "{} does not name a folder: give the site's folder, e.g. -o site",
                dir.display()
            ))
        })?;
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io("create the output folder's parent", &parent, e))?;
    let staging = Scratch(parent.join(format!(".{name}.site-{}", std::process::id())));
    remove_leftover(&staging.0)?;
    write_pages(&staging.0, pages, &targets)?;
    replace(
        &staging.0,
        dir,
        &parent.join(format!(".{name}.old-{}", std::process::id())),
    )
}

/// Each page's path in the site, checked: relative, `/`-separated plain
/// names, no two pages at one path.
fn page_paths(pages: &[SitePage]) -> Result<Vec<PathBuf>> {
    let mut seen = BTreeSet::new();
    pages
        .iter()
        .map(|page| {
            let path = PathBuf::from(&page.path);
            let plain = !page.path.is_empty()
                && !page.path.contains('\\')
                && path.components().all(|c| matches!(c, Component::Normal(_)));
            if !plain || [MARKER, NO_JEKYLL].contains(&page.path.as_str()) {
                return Err(Error::runtime(format!(
                    "the site has a page at `{}`, not a plain relative path",
                    page.path
                )));
            }
            if !seen.insert(page.path.as_str()) {
                return Err(Error::runtime(format!(
                    "the site has two pages at `{}`",
                    page.path
                )));
            }
            Ok(path)
        })
        .collect()
}

/// Write every page, the marker and `.nojekyll` into `root`.
fn write_pages(root: &Path, pages: &[SitePage], targets: &[PathBuf]) -> Result<()> {
    std::fs::create_dir_all(root).map_err(|e| Error::io("create the folder", root, e))?;
    let files = pages
        .iter()
        .zip(targets)
        .map(|(page, rel)| (root.join(rel), page.html.as_bytes()))
        .chain([
            (root.join(MARKER), MARKER_TEXT.as_bytes()),
            (root.join(NO_JEKYLL), &b""[..]),
        ]);
    for (path, bytes) in files {
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| Error::io("create the folder", folder, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io("write the page", &path, e))?;
    }
    Ok(())
}

/// Put the finished site `staging` in the place of `dir`: a rename when
/// `dir` does not exist; otherwise `dir` is first renamed to `old` (and
/// renamed back if the site cannot take its place), then removed.
fn replace(staging: &Path, dir: &Path, old: &Path) -> Result<()> {
    check_target(dir)?;
    if std::fs::symlink_metadata(dir).is_err() {
        return std::fs::rename(staging, dir)
            .map_err(|e| Error::io("move the site into place", dir, e));
    }
    remove_leftover(old)?;
    std::fs::rename(dir, old).map_err(|e| Error::io("move the earlier site aside", dir, e))?;
    if let Err(e) = std::fs::rename(staging, dir) {
        let _ = std::fs::rename(old, dir);
        return Err(Error::io("move the site into place", dir, e));
    }
    std::fs::remove_dir_all(old).map_err(|e| Error::io("remove the earlier site", old, e))
}

/// A temporary folder beside the target, removed when dropped.
struct Scratch(PathBuf);

/// Remove what a crashed earlier run of this process id left at `path`.
fn remove_leftover(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove the leftover folder", path, e)),
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn page(path: &str, html: &str) -> SitePage {
        SitePage {
            path: path.to_string(),
            html: html.to_string(),
        }
    }

    fn pages(version: &str) -> Vec<SitePage> {
        vec![
            page("index.html", version),
            page("runs/a.html", version),
            page("compare/a~vs~b.html", version),
        ]
    }

    /// Every file under `dir`, relative, sorted.
    fn files(dir: &Path) -> Vec<String> {
        let mut out: Vec<String> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| crate::runfolder::relative_path(dir, e.path()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_new_folder_gets_the_pages_the_marker_and_nothing_is_left_beside_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out/site");
        publish(&dir, &pages("v1")).expect("publish");
        assert_eq!(
            files(&dir),
            [
                ".nojekyll",
                MARKER,
                "compare/a~vs~b.html",
                "index.html",
                "runs/a.html"
            ]
        );
        let beside: Vec<String> = std::fs::read_dir(tmp.path().join("out"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(beside, ["site"]);
    }

    #[test]
    fn an_earlier_site_is_replaced_as_a_whole() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("site");
        let mut first = pages("v1");
        first.push(page("runs/gone.html", "v1"));
        publish(&dir, &first).expect("first");
        publish(&dir, &pages("v2")).expect("second");
        assert!(!dir.join("runs/gone.html").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("index.html")).expect("read"),
            "v2"
        );
        let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "only the site");
    }

    #[test]
    fn an_empty_folder_is_used_and_other_folders_and_files_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        publish(&empty, &pages("v1")).expect("empty folder");
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        std::fs::write(other.join("notes.txt"), "keep me").expect("write");
        let err = publish(&other, &pages("v1")).expect_err("not a site");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.message().contains(MARKER), "{err}");
        assert_eq!(files(&other), ["notes.txt"]);
        let file = tmp.path().join("file.html");
        std::fs::write(&file, "x").expect("write");
        let err = check_target(&file).expect_err("a file");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(check_target(&tmp.path().join("new")).is_ok());
    }

    #[test]
    fn pages_outside_the_site_or_twice_at_one_path_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("site");
        for bad in ["../x.html", "/etc/x.html", "a/../../x", "", MARKER, "a\\b"] {
            assert!(publish(&dir, &[page(bad, "x")]).is_err(), "{bad}");
        }
        let twice = [page("index.html", "a"), page("index.html", "b")];
        assert!(publish(&dir, &twice).is_err());
        assert!(!dir.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).expect("list").count(), 0);
    }
}
