#!/usr/bin/env bash
# Run the test suite against an AddressSanitizer build of fastbp's compiled core.
#
# The kernels index without bounds checks (validation happens first, in _validate.py);
# ASan proves on the whole suite that no kernel reads or writes outside the buffers it
# was given.  Uses gcc's ASan runtime (Debian libasan8, part of gcc-12); `apt-get
# install libasan8` if it is missing.  Python itself is not instrumented, so the
# runtime is preloaded and leak detection is off (CPython frees little at exit).
#
#   tools/sanitize.sh [pytest args...]      e.g. tools/sanitize.sh -x -q tests/test_losses.py
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

asan_so="$(gcc -print-file-name=libasan.so)"
[ -f "$asan_so" ] || { echo "no libasan.so from gcc; apt-get install libasan8" >&2; exit 2; }

git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar cf -) | tar xf - -C "$work"
cd "$work"
python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet "setuptools>=77" "Cython>=3.1"
export CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g"
export LDFLAGS="-fsanitize=address"
"$work/venv/bin/python" setup.py build_ext --inplace -j2 >/dev/null
echo "ASan build done: $(ls src/fastbp/*.so | wc -l) extension modules"

export PYTHONPATH="$work/src"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
# numpy keeps freed small blocks in a cache of exact sizes, so an overrun of a
# small array still lands outside its ASan-tracked allocation.
LD_PRELOAD="$asan_so" "$work/venv/bin/python" -c \
  "import fastbp, os; assert fastbp.__file__.startswith('$work'), fastbp.__file__; print('testing', fastbp.__file__)"
# Self-test: the instrumented kernels must trip ASan when handed a buffer too small
# (bypassing _validate.py on purpose), or a clean run below would prove nothing.
if LD_PRELOAD="$asan_so" "$work/venv/bin/python" -c "
import numpy as np
from fastbp import _dense
x = np.ones((4, 40)); w = np.ones((30, 40)); b = np.ones(30)
_dense.linear(x, w, b, np.empty((1, 30)))   # output has 1 row, kernel writes 4
" 2>"$work/selftest.log"; then
  echo "ASan self-test FAILED: an out-of-bounds write went unnoticed" >&2; exit 1
fi
grep -q "AddressSanitizer: heap-buffer-overflow" "$work/selftest.log" \
  || { echo "ASan self-test FAILED:"; cat "$work/selftest.log"; exit 1; } >&2
echo "ASan self-test passed: a deliberate overflow is reported"

LD_PRELOAD="$asan_so" "$work/venv/bin/python" -m pytest -p no:cacheprovider -q "$@"
