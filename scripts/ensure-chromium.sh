#!/usr/bin/env bash
# Make sure headless Chromium is available for the HTML report tests:
# install Debian's package when running as root, otherwise say how.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    exit 0
  fi
done
if [ "${TUNIX_SKIP_BROWSER_TESTS:-}" = 1 ]; then
  echo "browser: chromium not installed; TUNIX_SKIP_BROWSER_TESTS=1, so the browser tests will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: installing chromium (Debian package) for the HTML report tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "browser: the HTML report tests need headless Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium), or set TUNIX_SKIP_BROWSER_TESTS=1 to skip those tests knowingly" >&2
exit 2
