#!/usr/bin/env bash
# The programs some tests drive: Chromium (the browser tests), nginx (the
# load balancer's config) and gettext (the translations' freshness test runs
# makemessages). Installed with apt when run as root, as CI does;
# otherwise one line says which tests will be skipped and how to enable them.
# axe-core (the accessibility test's checker) comes from the npm registry,
# pinned by tests/pages/axe/package-lock.json.
axe=tests/pages/axe
if [ ! -f "$axe/node_modules/axe-core/axe.min.js" ] && command -v npm >/dev/null; then
  npm ci --prefix "$axe" --no-audit --no-fund --silent || echo "npm could not install axe-core" >&2
fi
missing=()
[ -x "${NEXUS_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium fonts-dejavu-core)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v xgettext >/dev/null || missing+=(gettext)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} for the browser, load-balancer and translation tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    && exit 0
  echo "apt-get could not install ${missing[*]}" >&2
fi
[ -n "${NEXUS_REQUIRE_SERVICES:-}" ] && { echo "FATAL: ${missing[*]} missing" >&2; exit 1; }
echo "${missing[*]} missing: their tests will be skipped (sudo apt-get install ${missing[*]})"
