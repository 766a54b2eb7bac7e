#!/usr/bin/env python3
"""How an HTML report behaves in headless Chromium.

Usage: bench/page.py PAGE.html [BROWSER]

Loads a copy of PAGE with a timing script added at its end (the reports'
Content-Security-Policy allows inline scripts and nothing else), then
prints, as JSON: the page's size, the time to DOMContentLoaded and to the
load event (from the Navigation Timing entry, so the browser's own start-up
is not counted), how many table rows the page holds and how many are
listed, and the time of three interactions measured in the page:

- sort: a click on the first sortable column heading of the page's
  longest sortable table (its rows are re-ordered and the pager re-lists
  a page);
- sort again: a second click on it (the other direction);
- filter: typing a query that matches no row into the filter box, then
  clearing it.

Each interaction is timed in the load handler from before the event to
after a forced layout, so the time includes the style and layout work the
change causes (not painting).

The pages for the store benchmark's 10,000-run leaderboard and 10,000-item
compare come from `TUNIX_BENCH_HTML=DIR cargo bench --bench store`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROBE = """
<script>
(function () {
  "use strict";
  /* Time `action` with the style and layout it causes (a forced layout). */
  function timed(action) {
    var t0 = performance.now();
    action();
    void document.body.offsetHeight;
    return performance.now() - t0;
  }
  window.addEventListener("load", function () {
    var nav = performance.getEntriesByType("navigation")[0];
    var table = null;
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      if (!table || t.querySelectorAll("tbody tr").length > table.querySelectorAll("tbody tr").length) { table = t; }
    });
    var head = table && table.querySelector("th[data-sort]");
    var listed = function () {
      return table ? Array.prototype.filter.call(table.querySelectorAll("tbody tr"), function (r) { return !r.hidden; }).length : 0;
    };
    var out = {
      dom_content_loaded_ms: nav.domContentLoadedEventEnd,
      load_ms: performance.now(),
      rows: table ? table.querySelectorAll("tbody tr").length : 0,
      listed: listed()
    };
    if (head) {
      out.sort_ms = timed(function () { head.click(); });
      out.sort_again_ms = timed(function () { head.click(); });
    }
    var box = table && document.querySelector('input[data-filter="' + table.id + '"]');
    if (box) {
      out.filter_ms = timed(function () { box.value = "no-row-has-this"; box.dispatchEvent(new Event("input")); });
      out.listed_when_filtered = listed();
      out.unfilter_ms = timed(function () { box.value = ""; box.dispatchEvent(new Event("input")); });
    }
    var pre = document.createElement("pre");
    pre.id = "tunix-probe";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>
"""

BROWSERS = ["chromium", "chromium-browser", "google-chrome", "headless_shell"]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    page = argv[1]
    browser = argv[2] if len(argv) > 2 else next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        print("no headless browser on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    with open(page, encoding="utf-8") as f:
        html = f.read()
    if "</body>" not in html:
        print(f"{page}: no </body>", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        probed = os.path.join(tmp, "page.html")
        with open(probed, "w", encoding="utf-8") as f:
            f.write(html.replace("</body>", PROBE + "</body>", 1))
        out = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={os.path.join(tmp, 'profile')}", "--window-size=1280,1800",
             "--dump-dom", f"file://{probed}"],
            capture_output=True, text=True, check=False, timeout=300,
        )
    found = re.search(r'<pre id="tunix-probe">(.*?)</pre>', out.stdout)
    if not found:
        print(f"the probe did not report; browser said:\n{out.stderr[-2000:]}", file=sys.stderr)
        return 1
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    result = {"page": page, "bytes": len(html.encode("utf-8")), **result}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
