#!/usr/bin/env bash
# `make install` to a temporary prefix (issue 24's packaging): the binary, the example
# configuration, the tables, the systemd unit and the README land where the unit looks for them;
# the installed vigil checks the installed configuration (vigil -T) and reads the installed rules;
# a second install keeps what the operator edited and writes the new example beside it; every
# top-level section of the example is commented; systemd-analyze accepts the unit.
#   tests/packaging/install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: install_test.sh SOURCE_DIR BUILD_DIR}
build=$(cd "${2:?usage: install_test.sh SOURCE_DIR BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAILED: $*" >&2
  exit 1
}
prefix=$work/usr
etc=$prefix/etc/vigil
# -o build: the build is the caller's (make test builds before ctest); install copies it.
install_once() { make -s -C "$src" -o build -o deps install BUILD="$build" PREFIX="$prefix"; }
install_once >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "make install"; }

for f in bin/vigil etc/vigil/vigil.yaml etc/vigil/classification.config \
  etc/vigil/reference.config etc/vigil/rules/local.rules lib/systemd/system/vigil.service \
  share/doc/vigil/README.md; do
  [ -s "$prefix/$f" ] || fail "$prefix/$f missing or empty"
done
[ -x "$prefix/bin/vigil" ] || fail "bin/vigil is not executable"

# The example names the installed paths, and the installed vigil reads it and its rules.
grep -q "default-rule-path: $etc/rules" "$etc/vigil.yaml" || fail "rule path not rewritten"
out=$("$prefix/bin/vigil" -T -c "$etc/vigil.yaml" 2>&1) || fail "vigil -T: $out"
grep -q "rules: loaded=0 failed=0" <<<"$out" || fail "empty local.rules: $out"
echo 'alert tcp any any -> any 80 (msg:"installed rule"; content:"GET"; sid:9000001; rev:1;)' \
  >>"$etc/rules/local.rules"
out=$("$prefix/bin/vigil" -T -c "$etc/vigil.yaml" 2>&1) || fail "vigil -T: $out"
grep -q "rules: loaded=1 failed=0" <<<"$out" || fail "the installed rule file is not read: $out"

# The unit runs the installed binary with the installed configuration.
unit=$prefix/lib/systemd/system/vigil.service
grep -q '@[A-Z]*@' "$unit" && fail "placeholders left in the unit"
grep -q "^ExecStart=$prefix/bin/vigil -c $etc/vigil.yaml " "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -q "^ExecStartPre=$prefix/bin/vigil -T -c $etc/vigil.yaml" "$unit" || fail "ExecStartPre"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" || fail "systemd-analyze verify"
else
  echo "systemd-analyze not installed: the unit's syntax is not checked"
fi

# Every top-level section of the example is commented: the paragraph (lines between blank
# ones) that holds its key begins with a comment.
awk 'BEGIN { bad = 0; first = "" }
     /^$/ { first = ""; next }
     first == "" { first = $0 }
     /^[a-z][a-z0-9-]*:/ && first !~ /^#/ { print "section without a comment: " $0; bad = 1 }
     END { exit bad }' "$src/etc/vigil.yaml" || fail "uncommented section in etc/vigil.yaml"

# A second install keeps the operator's files and puts the new example beside them.
echo "# the operator's edit" >>"$etc/vigil.yaml"
install_once >"$work/install2.log" 2>&1 || { cat "$work/install2.log"; fail "second make install"; }
grep -q "the operator's edit" "$etc/vigil.yaml" || fail "vigil.yaml overwritten"
[ -s "$etc/vigil.yaml.new" ] || fail "no vigil.yaml.new beside the kept one"
grep -q "installed rule" "$etc/rules/local.rules" || fail "local.rules overwritten"
echo "packaging: installed to $prefix, configuration checked, unit verified, edits kept"
