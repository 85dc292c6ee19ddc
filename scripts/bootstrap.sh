#!/usr/bin/env bash
# Installs what the build, the product and the tests need on a fresh Debian 12 machine (root, .NET SDK, Node/npm).
# Idempotent: packages already present are not reinstalled, `apt-get update` runs only when something is missing.
#   scripts/bootstrap.sh run    what `make run` needs
#   scripts/bootstrap.sh test   what `make test` needs (a superset)
set -euo pipefail
purpose=${1:-run}
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then echo sudo; else
      echo "bootstrap: missing Debian packages ($*) and not root: install them or run as root" >&2; exit 1
    fi
  fi
}

# Debian packages per purpose. Keep these lists the single source of truth (docs/development.md links here).
run_packages=(clang llvm libbpf-dev libbpf1 bpftool libelf-dev curl)
# libc6-dbg, python3.11-dbg: debug files the symbolizer tests read (build id / debuglink); xz-utils, binutils: their MiniDebugInfo generator.
# ceph-mon, ceph-osd, radosgw: a real S3 server (one-node Ceph on loopback, scripts/s3/start-s3.sh) for the object storage tests.
# debuginfod: a real debuginfod server for the symbolizer's upstream test.
# openjdk-17-jdk-headless: the JVM (and javac for its tracee) the agent's Java runtime tests profile.
# rustc: Debian's Rust compiler for the unwinder's release-build (no frame pointers) tracee.
# perl: the Perl interpreter tests profile, and the CORE headers PerlLayoutTests compiles its structure offsets against.
# ruby, ruby3.1-dev: the Ruby interpreter tests profile, and the rb_mjit_min_header RubyLayoutTests compiles against.
# php8.2-cli, php8.2-dev: the PHP interpreter tests profile, and the Zend headers PhpLayoutTests compiles against.
# build-essential, dpkg-dev: scripts/build-php-zts.sh builds a thread-safe php from Debian's source package (apt-get source).
test_packages=("${run_packages[@]}" ceph-mon ceph-osd radosgw golang-go protobuf-compiler python3-grpcio linux-perf bpftrace elfutils debuginfod chromium libc6-dbg python3.11-dbg xz-utils binutils openjdk-17-jdk-headless rustc perl ruby ruby3.1-dev php8.2-cli php8.2-dev build-essential dpkg-dev)
case "$purpose" in
  run) packages=("${run_packages[@]}") ;;
  test) packages=("${test_packages[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=$(need_root "${missing[@]}")
  echo "bootstrap: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The thread-safe (ZTS) php the PHP tests also profile: built once per machine (minutes), in the background of the rest.
php_zts_pid=
php_zts_log=/tmp/parca-build-php-zts.log
if [ "$purpose" = test ]; then
  sudo=$(need_root "the ZTS php build")
  $sudo scripts/build-php-zts.sh >"$php_zts_log" 2>&1 &
  php_zts_pid=$!
fi

# Node packages: the web UI and the test peers (gRPC and Parca clients from other ecosystems).
for dir in ui test/interop test/Parca.Query.Tests/arrow-reader; do
  if [ -f "$dir/package-lock.json" ]; then
    stamp="$dir/node_modules/.bootstrap-stamp"
    if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
      echo "bootstrap: npm install in $dir"
      # `npm install` honours the lock file like `npm ci`, but tolerates optional platform packages the registry
      # mirror here does not carry (@bufbuild/buf's darwin/win32 binaries), which make `npm ci` refuse the lock.
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
      touch "$stamp"
    fi
  fi
done

if [ -n "$php_zts_pid" ] && ! wait "$php_zts_pid"; then
  echo "bootstrap: scripts/build-php-zts.sh failed; the end of $php_zts_log:" >&2
  tail -20 "$php_zts_log" >&2
  exit 1
fi
