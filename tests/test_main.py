"""The command line: ``python -m fastbp`` runs the demo, as a new user would."""

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "fastbp", *args], capture_output=True,
                          text=True, timeout=120)


def test_default_is_the_demo():
    plain, demo = run(), run("demo")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == demo.stdout
    assert "0.2983711088" in plain.stdout  # the text's loss, 0.298371109
    assert "0.3589164797" in plain.stdout  # w5 after one step of lr 0.5


def test_options():
    r = run("--steps", "4", "--lr", "0.1", "--dtype", "float32")
    assert r.returncode == 0, r.stderr
    assert "(float32)" in r.stdout and "step     4" in r.stdout and "lr = 0.1" in r.stdout


def test_bad_options_exit_with_usage():
    for args in (["--steps", "0"], ["--dtype", "int8"], ["--lr", "-1"], ["frobnicate"]):
        r = run(*args)
        assert r.returncode == 2 and "usage:" in r.stderr


def test_info_prints_show_config():
    import fastbp

    r = run("info")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"fastbp {fastbp.__version__}\n")
    for section in ("compile flags", "OpenMP", "BLAS behind scipy", "Dependencies", "platform"):
        assert section in r.stdout, section


def test_a_closed_pipe_ends_quietly():
    """`python -m fastbp --steps 100000 | head -1`: no traceback when the reader leaves."""
    proc = subprocess.Popen([sys.executable, "-m", "fastbp", "--steps", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("fastbp demo")
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 1
