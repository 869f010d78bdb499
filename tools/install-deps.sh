#!/usr/bin/env bash
# install-deps.sh PKG...: make sure the Debian packages the build needs are present.
# As root, missing packages are installed with apt-get; otherwise the script stops
# and prints the exact command to run. Called by `make deps` (and so by every build).
set -u
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "deps: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/fam-apt.log 2>&1 || {
      tail -n 20 /tmp/fam-apt.log >&2
      echo "deps: apt-get failed (log: /tmp/fam-apt.log); run: apt-get install -y ${missing[*]}" >&2
      exit 1
    }
  else
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
