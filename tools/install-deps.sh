#!/usr/bin/env bash
# install-deps.sh PKG...: make sure what the build needs is present, then say so.
#
# Each Debian package name is checked by what it provides, not by asking dpkg, so
# the check works on any system where the headers, libraries and tools are
# installed (another distribution, a source build, a container without dpkg):
#   - headers and libraries: a tiny program is compiled (and linked) with $CXX and
#     $CPPFLAGS / $BLAS_LIBS, exactly as the build will;
#   - tools: `command -v`; Python modules: `python3 -c "import M"`;
#   - any other package: dpkg-query if there is one, else a command of that name.
# Only what is missing is installed, with apt-get, when running as root and
# apt-get exists; otherwise the script stops and prints what is missing and the
# command to run. Called by `make deps` (and so by every build) and by targets that
# need an extra tool (e.g. `bash tools/install-deps.sh gdb`).
set -u
CXX=${CXX:-g++}
CPPFLAGS=${CPPFLAGS:-}
BLAS_LIBS=${BLAS_LIBS:--lopenblas}
probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/fam-deps.XXXXXX") || exit 1
trap 'rm -rf "$probe_dir"' EXIT

# compiles (and with "link", links) a program made of the given #include lines
compiles() {  # compiles HEADER... [-- LINK_FLAGS]
  local src=$probe_dir/probe.cpp link=() headers=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; link=("$@"); break; fi
    headers+=("$1"); shift
  done
  : > "$src"
  for h in "${headers[@]}"; do echo "#include <$h>" >> "$src"; done
  echo "int main() { return 0; }" >> "$src"
  if [ ${#link[@]} -gt 0 ]; then
    # shellcheck disable=SC2086
    $CXX -std=c++17 $CPPFLAGS -I/usr/include/stb "$src" -o "$probe_dir/probe" "${link[@]}" >/dev/null 2>&1
  else
    # shellcheck disable=SC2086
    $CXX -std=c++17 $CPPFLAGS -I/usr/include/stb -fsyntax-only "$src" >/dev/null 2>&1
  fi
}

present() {  # present PKG: does the system provide what PKG would?
  case "$1" in
    g++) command -v "${CXX%% *}" >/dev/null ;;
    make) command -v make >/dev/null ;;
    libopenblas-dev)
      # shellcheck disable=SC2086
      compiles cblas.h -- $BLAS_LIBS || compiles openblas/cblas.h -- $BLAS_LIBS ;;
    doctest-dev) compiles doctest/doctest.h ;;
    nlohmann-json3-dev) compiles nlohmann/json.hpp ;;
    libstb-dev) compiles stb_image.h stb_image_write.h ;;
    python3-*) command -v python3 >/dev/null && python3 -c "import ${1#python3-}" >/dev/null 2>&1 ;;
    *)
      if command -v dpkg-query >/dev/null; then
        dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
      else
        command -v "$1" >/dev/null
      fi ;;
  esac
}

missing=()
for p in "$@"; do
  present "$p" || missing+=("$p")
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
    echo "deps: missing: ${missing[*]} (checked by compiling with CXX='$CXX' CPPFLAGS='$CPPFLAGS' BLAS_LIBS='$BLAS_LIBS')" >&2
    if command -v apt-get >/dev/null; then
      echo "deps: run: sudo apt-get install -y ${missing[*]}" >&2
    else
      echo "deps: install the equivalent packages of your system (a C++17 compiler, OpenBLAS with cblas.h," >&2
      echo "deps: doctest, nlohmann/json, stb), or point CPPFLAGS/BLAS_LIBS at them" >&2
    fi
    exit 1
  fi
fi
