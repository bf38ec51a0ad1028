"""fastbp.optim.lr_scheduler against torch.optim.lr_scheduler: the lr sequences agree."""

import math

import numpy as np
import pytest

import fastbp
from fastbp.optim import lr_scheduler as fs

torch = pytest.importorskip("torch")
ts = torch.optim.lr_scheduler

STEPS = 60
CASES = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 1, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 10, 10, 25]}),
    ("MultiStepLR", {"milestones": [5, 2], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.6, "total_iters": 13}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 4}),
]


def make_pair(lr=0.3):
    p = np.zeros(3)
    opt = fastbp.SGD([(p, np.zeros(3))], lr=lr)
    topt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=lr)
    return opt, topt


def assert_same_lr(lr, torch_lr):
    assert lr == pytest.approx(torch_lr, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("name, options", CASES)
def test_sequence_matches_torch(name, options):
    opt, topt = make_pair()
    sched = getattr(fs, name)(opt, **options)
    tsched = getattr(ts, name)(topt, **options)
    assert_same_lr(opt.lr, topt.param_groups[0]["lr"])
    for _ in range(STEPS):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert_same_lr(opt.lr, topt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [opt.lr]


def test_chained_schedulers_match_torch():
    # Two schedulers on one optimizer compose through optimizer.lr, as torch's chainable form.
    opt, topt = make_pair()
    mine = [fs.LinearLR(opt, 0.2, 1.0, 6), fs.CosineAnnealingLR(opt, T_max=9, eta_min=0.001)]
    theirs = [ts.LinearLR(topt, 0.2, 1.0, 6), ts.CosineAnnealingLR(topt, T_max=9, eta_min=0.001)]
    assert_same_lr(opt.lr, topt.param_groups[0]["lr"])
    for _ in range(40):
        opt.step()
        topt.step()
        for a, b in zip(mine, theirs):
            a.step()
            b.step()
        assert_same_lr(opt.lr, topt.param_groups[0]["lr"])


@pytest.mark.parametrize("options", [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2, "cooldown": 3},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "min_lr": 0.01},
    {"mode": "max", "threshold_mode": "abs", "patience": 0, "eps": 0.1},
])
def test_reduce_on_plateau_matches_torch(options):
    opt, topt = make_pair()
    sched = fs.ReduceLROnPlateau(opt, **options)
    tsched = ts.ReduceLROnPlateau(topt, **options)
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(5, 1, 10), 1 + rng.random(60) * 0.2,
                              np.linspace(1, 3, 10)])
    for m in metrics:
        sched.step(float(m))
        tsched.step(float(m))
        assert_same_lr(opt.lr, topt.param_groups[0]["lr"])
        assert sched.get_last_lr() == [opt.lr]
    assert sched.num_bad_epochs == tsched.num_bad_epochs
    assert sched.best == tsched.best


@pytest.mark.parametrize("name, options", CASES[::2] + [("ReduceLROnPlateau", {"patience": 1})])
def test_state_dict_resume(name, options):
    def advance(opt, sched, k, start):
        for i in range(k):
            opt.step()
            sched.step(*([float(math.cos(start + i))] if name == "ReduceLROnPlateau" else []))

    opt, _ = make_pair()
    sched = getattr(fs, name)(opt, **options)
    advance(opt, sched, 10, 0)
    saved, saved_lr = sched.state_dict(), opt.lr
    advance(opt, sched, 10, 10)
    expected = opt.lr

    opt2, _ = make_pair(lr=saved_lr)
    sched2 = getattr(fs, name)(opt2, **options)
    sched2.load_state_dict(saved)
    opt2.lr = saved_lr
    advance(opt2, sched2, 10, 10)
    assert opt2.lr == expected


def test_state_dict_is_a_copy():
    opt, _ = make_pair()
    sched = fs.MultiStepLR(opt, [2, 4])
    state = sched.state_dict()
    state["milestones"][3] = 1
    assert 3 not in sched.milestones
    sched.load_state_dict(state)
    state["milestones"][5] = 1
    assert 5 not in sched.milestones
    with pytest.raises(ValueError, match="'bogus'"):
        sched.load_state_dict({"bogus": 1})


@pytest.mark.parametrize("name, options", [
    ("LinearLR", {"start_factor": 0.0}),
    ("LinearLR", {"start_factor": 1.5}),
    ("LinearLR", {"end_factor": -0.1}),
    ("LinearLR", {"end_factor": 1.1}),
    ("ReduceLROnPlateau", {"factor": 1.0}),
    ("ReduceLROnPlateau", {"mode": "up"}),
    ("ReduceLROnPlateau", {"threshold_mode": "relative"}),
])
def test_invalid_options_are_value_errors_as_torch(name, options):
    opt, topt = make_pair()
    with pytest.raises(ValueError):
        getattr(ts, name)(topt, **options)
    with pytest.raises(ValueError, match=next(iter(options))):
        getattr(fs, name)(opt, **options)


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="optimizer"):
        fs.StepLR(object(), 3)
