//! Where each page of the static site lives and the relative links between
//! pages. Pages are named after run ids and sweep names, which may hold any
//! text: [`stem`] turns an id into a file name made only of unreserved URL
//! characters, so a page's path is also its href, on disk and on any
//! static host.

/// The site's front page: the runs in leaderboard order.
pub const INDEX: &str = "index.html";
/// The leaderboard report, as `report leaderboard` renders it.
pub const LEADERBOARD: &str = "leaderboard.html";

/// Most characters of a stem kept before it is cut and given a hash, so
/// that a comparison's file name (two stems) stays under 255 bytes.
const MAX_STEM: usize = 100;

/// Between the two runs' stems in a comparison's file name. `~` is always
/// followed by two hex digits in a stem, so this cannot occur in one.
const VERSUS: &str = "~vs~";

/// `id` as a file stem: ASCII letters, digits, `-`, `_` and `.` are kept,
/// every other byte is written `~XX` (its hex value), and so is a leading
/// `.` (no hidden files, no `..`). Different ids give different stems; a
/// stem longer than [`MAX_STEM`] characters is cut there and ends with `~h`
/// and 16 hex digits of the id's blake3 (`h` is not a hex digit, so such a
/// stem is never that of a shorter id). An empty id is `~`.
pub fn stem(id: &str) -> String {
    if id.is_empty() {
        return "~".to_string();
    }
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let kept = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if kept {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    if out.len() > MAX_STEM {
        out.truncate(MAX_STEM);
        let hash = blake3::hash(id.as_bytes()).to_hex();
        out.push_str("~h");
        out.push_str(&hash[..16]);
    }
    out
}

/// The page of run `run_id`.
pub fn run_page(run_id: &str) -> String {
    format!("runs/{}.html", stem(run_id))
}

/// The report page of sweep `name`.
pub fn sweep_page(name: &str) -> String {
    format!("sweeps/{}.html", stem(name))
}

/// The comparison page of run `b` against run `a` (A the baseline).
pub fn compare_page(a: &str, b: &str) -> String {
    format!("compare/{}{VERSUS}{}.html", stem(a), stem(b))
}

/// The link from the page at site path `from` to the page at site path
/// `to` (both `/`-separated, relative to the site's root): `to` behind one
/// `../` per folder of `from`.
pub fn href(from: &str, to: &str) -> String {
    let depth = from.matches('/').count();
    format!("{}{to}", "../".repeat(depth))
}

/// [`href`] as a template value marked safe: a link is made of stems and
/// fixed names, only unreserved URL characters, which HTML escaping would
/// otherwise write as entities (`/` as `&#x2f;`).
pub(super) fn safe_href(from: &str, to: &str) -> minijinja::Value {
    let link = href(from, to);
    debug_assert!(
        link.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/".contains(c)),
        "not a plain link: {link}"
    );
    minijinja::Value::from_safe_string(link)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Characters that need no percent-encoding anywhere in a URL path.
    fn unreserved(s: &str) -> bool {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/".contains(c))
    }

    #[test]
    fn plain_ids_are_their_own_stems() {
        for id in ["quickstart", "m35_v1", "run-7.2", "sweep-t000", "A"] {
            assert_eq!(stem(id), id);
        }
    }

    #[test]
    fn other_characters_are_written_as_hex() {
        assert_eq!(stem("a b"), "a~20b");
        assert_eq!(stem("a/b"), "a~2Fb");
        assert_eq!(stem("../etc"), "~2E.~2Fetc");
        assert_eq!(stem(".."), "~2E.");
        assert_eq!(stem(".hidden"), "~2Ehidden");
        assert_eq!(stem("x~20"), "x~7E20");
        assert_eq!(stem("é"), "~C3~A9");
        assert_eq!(stem("<script>"), "~3Cscript~3E");
        assert_eq!(stem("a\"b'c&d?e#f%g"), "a~22b~27c~26d~3Fe~23f~25g");
        assert_eq!(stem(""), "~");
    }

    #[test]
    fn stems_are_unreserved_and_tell_ids_apart() {
        let ids = [
            "a b", "a~20b", "a_20b", "a%20b", "A b", "a.b", ".ab", "~2Eab", "", "~", "a/b", "a\\b",
            "αβ", "a\nb", "a\0b",
        ];
        let stems: BTreeSet<String> = ids.iter().map(|id| stem(id)).collect();
        assert_eq!(stems.len(), ids.len(), "{stems:?}");
        for s in &stems {
            assert!(unreserved(s) && !s.contains('/'), "{s}");
            assert!(!s.starts_with('.'), "{s}");
        }
    }

    #[test]
    fn long_ids_are_cut_with_a_hash_and_stay_distinct() {
        let long_a = "x".repeat(300);
        let long_b = format!("{}y", "x".repeat(299));
        let (a, b) = (stem(&long_a), stem(&long_b));
        assert_eq!(a.len(), MAX_STEM + 18);
        assert_ne!(a, b);
        assert!(a.starts_with(&"x".repeat(MAX_STEM)) && a[MAX_STEM..].starts_with("~h"));
        let wide = stem(&"é".repeat(200));
        assert_eq!(wide.len(), MAX_STEM + 18);
        let page = compare_page(&long_a, &"é".repeat(200));
        let file = page.trim_start_matches("compare/");
        assert!(file.len() < 255, "{} bytes", file.len());
    }

    #[test]
    fn comparisons_of_different_pairs_have_different_pages() {
        let pairs = [
            ("a", "b"),
            ("b", "a"),
            ("a~vs~b", "c"),
            ("a", "b~vs~c"),
            ("a_", "_b"),
            ("a__b", "c"),
            ("a", "b__c"),
        ];
        let pages: BTreeSet<String> = pairs.iter().map(|(a, b)| compare_page(a, b)).collect();
        assert_eq!(pages.len(), pairs.len(), "{pages:?}");
        assert_eq!(
            compare_page("lead", "run 2"),
            "compare/lead~vs~run~202.html"
        );
    }

    #[test]
    fn pages_live_in_their_folders() {
        assert_eq!(run_page("m35_v1"), "runs/m35_v1.html");
        assert_eq!(run_page("a/../../x"), "runs/a~2F..~2F..~2Fx.html");
        assert_eq!(sweep_page("m34 sweep"), "sweeps/m34~20sweep.html");
    }

    #[test]
    fn links_climb_out_of_the_linking_page_folder() {
        assert_eq!(href(INDEX, &run_page("r")), "runs/r.html");
        assert_eq!(href(&run_page("r"), INDEX), "../index.html");
        assert_eq!(
            href(&run_page("r"), &compare_page("a", "r")),
            "../compare/a~vs~r.html"
        );
        assert_eq!(href(&sweep_page("s"), &run_page("r")), "../runs/r.html");
        assert_eq!(href(INDEX, LEADERBOARD), "leaderboard.html");
    }
}
