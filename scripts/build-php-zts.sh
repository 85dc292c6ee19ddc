#!/usr/bin/env bash
# Builds a thread-safe (ZTS) PHP 8.2 CLI from Debian's source package, for the agent's PHP ZTS tests: Debian ships
# only non-ZTS PHP binaries (libphp8.2-embed and mod_php depend on php8.2-common's non-ZTS ABI), and ZTS is what
# FrankenPHP, Apache worker/event MPM with mod_php ZTS and the php-zts images run.
# Minimal: --disable-all, CLI only, no PCRE JIT (a long compile the tests do not need), -O2, symbols kept (not stripped; the agent finds executor_globals_offset in .dynsym).
# Cached per machine: builds once; later calls only print the binary's path.
#   scripts/build-php-zts.sh          build if missing, then print the php binary's path
# PHP_ZTS_DIR overrides the cache directory (default /var/cache/parca-test/php-zts-8.2).
set -euo pipefail
dir=${PHP_ZTS_DIR:-/var/cache/parca-test/php-zts-8.2}
bin="$dir/bin/php"
if [ -x "$bin" ] && [ -f "$dir/.built" ]; then echo "$bin"; exit 0; fi

# Debian source packages need a deb-src entry; add one for bookworm main if the machine has none.
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat >/etc/apt/sources.list.d/parca-debsrc.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq
fi

work=$(mktemp -d /tmp/php-zts-build.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# The released tarball carries the generated parser and scanner, so bison and re2c are not needed.
apt-get source -qq php8.2 >/dev/null 2>&1 || { apt-get update -qq && apt-get source -qq php8.2 >/dev/null; }
src=$(find . -maxdepth 1 -type d -name 'php8.2-*' | head -1)
cd "$src"
./configure -q --prefix="$dir" --enable-zts --disable-all --disable-cgi --disable-phpdbg --enable-cli \
  --without-pear --without-sqlite3 --without-pdo-sqlite --without-libxml --without-pcre-jit CFLAGS="-O2" >/dev/null
make -s -j"$(nproc)" >/dev/null 2>&1 || make -j1 # a failure repeats serially so its error is readable
mkdir -p "$dir/bin"
install -m 755 sapi/cli/php "$bin"
"$bin" -r 'exit(PHP_ZTS === 1 ? 0 : 1);' || { echo "build-php-zts: $bin is not ZTS" >&2; exit 1; }
touch "$dir/.built"
echo "$bin"
