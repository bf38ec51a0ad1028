"""SGD against tests/reference.py's torch.optim.SGD rule, and its option errors; the float32
updates of SGD, Adam, AdamW and RMSprop on subnormal state against the reference rules."""

import copy
import functools
import pickle

import numpy as np
import pytest
from conftest import DTYPES

import reference as ref
import fastbp
from fastbp import SGD, Layer, MSELoss, Net, _optim

OPTIONS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.05},
    {"maximize": True},
    {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.02, "maximize": True},
    {"momentum": 0.8, "nesterov": True, "weight_decay": 1e-3, "maximize": True},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", OPTIONS)
def test_sgd_matches_reference_rule(rng, dtype, options):
    shapes = [(3, 4), (4,), (1,), (2, 5)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [np.zeros_like(p) for p in params]
    expected = [p.copy() for p in params]
    states = [{} for _ in params]
    opt = SGD(list(zip(params, grads)), lr=0.05, **options)
    for _ in range(10):
        for k, g in enumerate(grads):
            g[...] = rng.standard_normal(g.shape)
            expected[k] = ref.sgd_step(expected[k], g.copy(), states[k], 0.05, **options)
        opt.step()
        for p, e in zip(params, expected):
            # same operations in the same dtype and order: the same floats
            np.testing.assert_array_equal(p, e)


def tiny_float32(rng, n):
    """n float32 values across the subnormal range and just above it, signed: where a
    float32 product is subnormal or underflows (2**-149 to 2**-90)."""
    exponents = rng.integers(-149, -90, n)
    values = np.ldexp(rng.uniform(1, 2, n), exponents) * rng.choice([-1.0, 1.0], n)
    return values.astype(np.float32)


# (rule, options, its reference step, the state it decays: fastbp's names, the reference's)
SUBNORMAL_CASES = (
    [("SGD", o, ref.sgd_step, {"momentum_buffer": "buf"}) for o in OPTIONS]
    + [("Adam", o, ref.adam_step, {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"})
       for o in ({}, {"amsgrad": True}, {"weight_decay": 0.05},
                 {"maximize": True, "betas": (0.8, 0.99)},
                 {"betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True, "maximize": True})]
    + [("AdamW", o, functools.partial(ref.adam_step, decoupled=True),
        {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"})
       for o in ({"weight_decay": 0.01}, {"weight_decay": 0.05, "amsgrad": True})]
    + [("RMSprop", o, ref.rmsprop_step,
        {"square_avg": "square_avg", "momentum_buffer": "momentum_buffer",
         "grad_avg": "grad_avg"})
       for o in ({}, {"centered": True}, {"momentum": 0.9}, {"weight_decay": 0.05},
                 {"alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.02,
                  "maximize": True})]
)


@pytest.mark.parametrize("case", SUBNORMAL_CASES,
                         ids=lambda c: f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[1].items())}")
def test_float32_updates_on_subnormal_values_give_the_reference_floats(rng, case):
    """float32 updates multiply (divide, take roots) in double in the blocks whose decaying
    state (or p, under weight decay) holds tiny values; the floats stay those of float32
    arithmetic, subnormal results included.  The state is tiny in runs (a dead unit's row)
    and scattered elements; the gradients are 0 on the runs, tiny or normal elsewhere;
    5,000 elements cross the 512-element blocks."""
    name, options, reference_step, state_names = case
    n = 5000
    p = rng.standard_normal(n).astype(np.float32)
    g = np.zeros(n, np.float32)
    runs = np.zeros(n, bool)
    runs[700:1500] = runs[3000:3100] = runs[4990:] = True  # (block edges at 1024 and 3072)
    scattered = rng.random(n) < 0.02
    tiny = runs | scattered
    if options.get("weight_decay"):
        p[tiny] = tiny_float32(rng, int(tiny.sum()))
    options = {"lr": 0.05, **options}
    opt, state = getattr(fastbp, name)([(p, g)], **options), {}
    expected = p.copy()
    for step in range(8):
        g[...] = rng.standard_normal(n)
        g[runs] = 0
        g[scattered] = tiny_float32(rng, int(scattered.sum()))
        expected = reference_step(expected, g.copy(), state, **options)
        opt.step()
        if step == 0:  # from here on the state is tiny on the runs and scattered elements
            saved = opt.state_dict()
            for ours, theirs in state_names.items():
                if f"{ours}.0" in saved:
                    values = tiny_float32(rng, int(tiny.sum()))
                    squares = ours in ("exp_avg_sq", "square_avg")
                    saved[f"{ours}.0"][tiny] = np.abs(values) if squares else values
                    state[theirs] = saved[f"{ours}.0"].copy()
            opt.load_state_dict(saved)
        np.testing.assert_array_equal(p, expected, err_msg=f"step {step}")
    saved = opt.state_dict()
    for ours, theirs in state_names.items():
        if f"{ours}.0" in saved:
            np.testing.assert_array_equal(saved[f"{ours}.0"], state[theirs], err_msg=ours)


def test_first_step_buffer_is_the_gradient():
    p = np.array([1.0])
    g = np.array([2.0])
    opt = SGD([(p, g)], lr=0.1, momentum=0.9, dampening=0.5)
    opt.step()  # buf = g = 2 (no dampening on the first step, as torch)
    assert p[0] == 1.0 - 0.1 * 2.0
    opt.step()  # buf = 0.9*2 + 0.5*2 = 2.8
    assert p[0] == (1.0 - 0.1 * 2.0) - 0.1 * (0.9 * 2.0 + 0.5 * 2.0)


def test_accepts_a_net_and_zero_grad():
    net = Net([Layer(2, 3, seed=0), Layer(3, 1, seed=1)])
    opt = SGD(net, lr=0.1)
    assert len(opt.params) == 4
    for _, g in net.parameters():
        g[...] = 1.0
    before = [p.copy() for p, _ in net.parameters()]
    opt.step()
    for (p, _), b in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, b - np.float32(0.1) * np.float32(1.0))
    opt.zero_grad()
    assert not any(g.any() for _, g in net.parameters())


def test_option_errors_match_torch():
    p = [(np.zeros(2), np.zeros(2))]
    with pytest.raises(ValueError, match="nesterov: Nesterov momentum requires momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="dampening == 0"):
        SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr: expected a value >= 0.0, got -0.1"):
        SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match="momentum: expected a value >= 0.0"):
        SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay: expected a value >= 0.0"):
        SGD(p, lr=0.1, weight_decay=-1)
    with pytest.raises(TypeError, match="lr: expected a real number, got '0.1'"):
        SGD(p, lr="0.1")
    with pytest.raises(TypeError, match="nesterov: expected True or False"):
        SGD(p, lr=0.1, momentum=0.9, nesterov=1)


def test_parameter_errors():
    with pytest.raises(TypeError, match=r"params\[0\]: expected a \(value, grad\) pair"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\]: value \(2,\) float64 and grad \(3,\) float64 differ"):
        SGD([(np.zeros(2), np.zeros(3))], lr=0.1)
    ro = np.zeros(2)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] value: expected a writable"):
        SGD([(ro, np.zeros(2))], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] value: expected float32 or float64, got int64"):
        SGD([(np.zeros(2, np.int64), np.zeros(2, np.int64))], lr=0.1)
    a = np.zeros(4)
    with pytest.raises(ValueError, match="share memory"):
        SGD([(a[:2], a[1:3])], lr=0.1)


# --- Adam, AdamW, RMSprop, Adagrad (and SGD) against torch.optim -------------------------

OPTIMIZER_OPTIONS = {
    "Adam": [{}, {"amsgrad": True}, {"weight_decay": 0.05}, {"maximize": True},
             {"betas": (0.5, 0.7), "eps": 1e-3},
             {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True,
              "maximize": True}],
    "AdamW": [{}, {"amsgrad": True}, {"weight_decay": 0.0}, {"maximize": True},
              {"lr": 0.01, "betas": (0.0, 0.5), "eps": 1e-6, "weight_decay": 0.3,
               "amsgrad": True, "maximize": True}],
    "RMSprop": [{}, {"centered": True}, {"momentum": 0.9}, {"weight_decay": 0.05},
                {"maximize": True, "alpha": 0.7},
                {"lr": 0.003, "alpha": 0.9, "eps": 1e-4, "weight_decay": 0.02, "momentum": 0.5,
                 "centered": True, "maximize": True}],
    "Adagrad": [{}, {"lr_decay": 0.1}, {"initial_accumulator_value": 0.5},
                {"weight_decay": 0.05}, {"maximize": True},
                {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.02, "eps": 1e-4,
                 "initial_accumulator_value": 0.1, "maximize": True}],
    "SGD": [{"lr": 0.1}, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}],
}
CASES = [(name, options) for name, option_sets in OPTIMIZER_OPTIONS.items()
         for options in option_sets]
# 50 steps compound rounding: torch's CPU kernels fuse multiply-adds (add with alpha,
# addcmul, lerp) where fastbp rounds the product first, so float32 trajectories part in the
# last bits; 2e-5 is the bound (float64 1e-10).
TRAJECTORY_TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-10}


def case_id(case):
    name, options = case
    return name + ("-" + ",".join(options) if options else "")


def make_net(dtype):
    return Net([Layer(4, 8, "tanh", dtype=dtype, seed=1), Layer(8, 3, "relu", dtype=dtype, seed=2),
                Layer(3, 2, dtype=dtype, seed=3)])


@pytest.fixture
def torch_one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only add wake-ups on a busy machine
    yield torch
    torch.set_num_threads(threads)


def torch_sequential(torch, net):
    tdtype = torch.float32 if net.dtype == np.float32 else torch.float64
    acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    modules = []
    for layer in net:
        lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(lin)
        if layer.activation is not None:
            modules.append(acts[layer.activation]())
    return torch.nn.Sequential(*modules)


def torch_optimizer(torch, name, params, options):
    extra = {} if name == "SGD" else {"foreach": False}
    return getattr(torch.optim, name)(params, **options, **extra)


@pytest.mark.parametrize("path", ["manual", "train_step"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch(torch_one_thread, rng, case, dtype, path):
    torch = torch_one_thread
    name, options = case
    net = make_net(dtype)
    seq = torch_sequential(torch, net)
    opt = getattr(fastbp, name)(net, **options)
    topt = torch_optimizer(torch, name, seq.parameters(), options)
    x = rng.standard_normal((16, 4)).astype(dtype)
    y = rng.standard_normal((16, 2)).astype(dtype)
    loss_fn, tloss_fn = MSELoss(), torch.nn.MSELoss()
    tol = TRAJECTORY_TOL[np.dtype(dtype)]
    for _ in range(50):
        if path == "manual":
            net.zero_grad()
            value = loss_fn(net(x), y)
            net.backward(loss_fn.backward())
            opt.step()
        else:
            value = net.train_step(x, y, loss_fn, opt)
        topt.zero_grad()
        tloss = tloss_fn(seq(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        assert value == pytest.approx(tloss.item(), rel=tol)
    for (p, _), tp in zip(net.parameters(), seq.parameters()):
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=tol, atol=tol)


def test_adam_bias_corrections_are_torchs_floats_past_their_saturation(rng):
    """Adam's bias corrections 1 - beta**step reach 1.0 in double (beta**step < 2**-54)
    and stay there, after which the update skips the pow; the floats stay those of
    Python's ``**`` at every step (reference.adam_step), through a betas change and a
    state_dict reload to step 40 (both make the powers anew, where 0.9**step is far above
    2**-54).  The small betas first saturate within 80 steps."""
    p, g = rng.standard_normal(5), np.empty(5)
    opt = fastbp.Adam([(p, g)], lr=0.05, betas=(0.5, 0.6))
    expected, state, betas = p.copy(), {}, (0.5, 0.6)
    for step in range(1, 201):
        if step == 120:  # new betas, beta2's power far from saturated: computed anew
            opt.beta1, opt.beta2 = betas = (0.3, 0.9)
        if step == 160:  # a reload rewinds the step count: so do the powers
            saved = opt.state_dict()
            saved["step"], state["step"] = 40, 40
            opt.load_state_dict(saved)
        g[:] = rng.standard_normal(5)
        opt.step()
        expected = ref.adam_step(expected, g.copy(), state, lr=0.05, betas=betas)
        np.testing.assert_array_equal(p, expected, err_msg=f"step {step}")
    assert 1 - 0.5 ** 80.0 == 1.0 and 1 - 0.6 ** 80.0 == 1.0  # (the saturation was crossed)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_train_step_equals_manual_sequence(rng, case):
    name, options = case
    nets = [make_net(np.float64), make_net(np.float64)]
    opts = [getattr(fastbp, name)(net, **options) for net in nets]
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal((8, 2))
    loss_fn = MSELoss()
    for _ in range(5):
        a = nets[0].train_step(x, y, loss_fn, opts[0])
        nets[1].zero_grad()
        b = loss_fn(nets[1](x), y)
        nets[1].backward(loss_fn.backward())
        opts[1].step()
        assert a == b
    for (p, _), (q, _) in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_array_equal(p, q)


def run_steps(net, opt, x, y, k):
    loss_fn = MSELoss()
    for _ in range(k):
        net.zero_grad()
        loss_fn(net(x), y)
        net.backward(loss_fn.backward())
        opt.step()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_resume_is_bit_identical(rng, case, dtype):
    name, options = case
    x = rng.standard_normal((8, 4)).astype(dtype)
    y = rng.standard_normal((8, 2)).astype(dtype)
    net = make_net(dtype)
    opt = getattr(fastbp, name)(net, **options)
    run_steps(net, opt, x, y, 10)
    saved_net, saved_opt = net.state_dict(), opt.state_dict()
    for value in saved_opt.values():
        assert isinstance(value, (np.ndarray, bool, int, float))
    run_steps(net, opt, x, y, 10)

    net2 = make_net(dtype)
    net2.load_state_dict(saved_net)
    # different options on purpose: load_state_dict restores them
    opt2 = getattr(fastbp, name)(net2, lr=0.5)
    opt2.load_state_dict(saved_opt)
    for key, value in saved_opt.items():  # the optimizer copied: the dict is not its state
        if isinstance(value, np.ndarray):
            value[...] = 1e6
    run_steps(net2, opt2, x, y, 10)
    for (p, _), (q, _) in zip(net.parameters(), net2.parameters()):
        np.testing.assert_array_equal(p, q)
    after, after2 = opt.state_dict(), opt2.state_dict()
    assert after.keys() == after2.keys()
    for key in after:
        np.testing.assert_array_equal(after[key], after2[key])


def test_state_dict_contents():
    p = np.zeros((2, 3), np.float32)
    opt = fastbp.Adam([(p, np.ones_like(p))], lr=0.1, betas=(0.8, 0.9), amsgrad=True)
    opt.step()
    state = opt.state_dict()
    assert state["lr"] == 0.1 and state["beta1"] == 0.8 and state["beta2"] == 0.9
    assert state["amsgrad"] is True and state["step"] == 1
    assert {"exp_avg.0", "exp_avg_sq.0", "max_exp_avg_sq.0"} <= state.keys()
    assert state["exp_avg.0"].shape == (2, 3) and state["exp_avg.0"].dtype == np.float32
    state["exp_avg.0"][...] = 7  # a copy
    assert not (opt.state_dict()["exp_avg.0"] == 7).any()


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("exp_avg.0"), "'exp_avg.0'"),
    (lambda d: d.pop("beta2"), "'beta2'"),
    (lambda d: d.pop("step"), "'step'"),
    (lambda d: d.update({"bogus.0": np.zeros(3)}), "'bogus.0'"),
    (lambda d: d.update({"exp_avg_sq.1": np.zeros(4)}), r"'exp_avg_sq.1'.*\(3,\)"),
    (lambda d: d.update({"beta1": 1.5}), "betas"),
    (lambda d: d.update({"amsgrad": True}), "'max_exp_avg_sq.0'"),
])
def test_load_state_dict_errors_name_the_key(mutate, match):
    params = [(np.zeros(2), np.ones(2)), (np.zeros(3), np.ones(3))]
    opt = fastbp.Adam(params)
    opt.step()
    state = opt.state_dict()
    before = opt.state_dict()
    mutate(state)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(state)
    after = opt.state_dict()  # unchanged
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_lr_is_read_at_every_step():
    p, g = np.zeros(1), np.ones(1)
    opt = fastbp.Adagrad([(p, g)], lr=1.0)
    opt.lr = 0.0
    opt.step()
    assert p[0] == 0.0  # the state moved, the parameter did not
    opt.lr = 0.5
    opt.step()
    assert p[0] == -0.5 * 1.0 / (np.sqrt(2.0) + 1e-10)


INVALID = [
    ("Adam", {"lr": -1e-3}), ("Adam", {"eps": -1.0}), ("Adam", {"weight_decay": -0.1}),
    ("Adam", {"betas": (1.0, 0.999)}), ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"betas": (-0.5, 0.9)}), ("Adam", {"betas": (0.9, 1.5)}),
    ("AdamW", {"lr": -1.0}), ("AdamW", {"betas": (0.9, 1.0)}), ("AdamW", {"weight_decay": -1e-2}),
    ("RMSprop", {"lr": -0.1}), ("RMSprop", {"alpha": -0.5}), ("RMSprop", {"eps": -1e-8}),
    ("RMSprop", {"momentum": -0.9}), ("RMSprop", {"weight_decay": -1.0}),
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -0.1}), ("Adagrad", {"eps": -1.0}),
    ("Adagrad", {"weight_decay": -0.1}), ("Adagrad", {"initial_accumulator_value": -1.0}),
]


@pytest.mark.parametrize("name, options", INVALID, ids=lambda c: str(c))
def test_invalid_options_are_value_errors_as_torch(name, options):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **options)
    argument = next(iter(options))
    with pytest.raises(ValueError, match=argument):
        getattr(fastbp, name)([(np.zeros(2), np.zeros(2))], **options)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad"])
def test_option_type_errors(name):
    params = [(np.zeros(2), np.zeros(2))]
    with pytest.raises(TypeError, match="lr: expected a real number"):
        getattr(fastbp, name)(params, lr="0.1")
    with pytest.raises(TypeError, match="maximize: expected True or False"):
        getattr(fastbp, name)(params, maximize=1)
    with pytest.raises(TypeError, match=r"params\[0\]"):
        getattr(fastbp, name)([np.zeros(2)])


def test_defaults_are_torchs():
    torch = pytest.importorskip("torch")
    params = [(np.zeros(2), np.zeros(2))]
    for name in ("Adam", "AdamW", "RMSprop", "Adagrad"):
        mine = getattr(fastbp, name)(params)
        theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
        for key, value in theirs.items():
            if key == "betas":
                assert mine.betas == value
            elif hasattr(mine, key):
                assert getattr(mine, key) == value, (name, key)
@pytest.mark.parametrize("clone", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_copied_net_and_optimizer_continue_as_the_original(clone):
    # the optimizer's record points at the copied parameters and carries the copied
    # momentum buffers and step count
    net = Net([Layer(3, 2, "tanh", dtype=np.float64, seed=0)])
    opt = SGD(net, lr=0.1, momentum=0.9)
    x, t = np.linspace(-1, 1, 12).reshape(4, 3), np.zeros((4, 2))
    net.train_step(x, t, MSELoss(), opt)
    net2, opt2 = clone((net, opt))
    assert opt2.params[0][0] is net2[0].weight and opt2.params[0][0] is not net[0].weight
    for _ in range(2):
        assert net.train_step(x, t, MSELoss(), opt) == net2.train_step(x, t, MSELoss(), opt2)
    np.testing.assert_array_equal(net[0].weight, net2[0].weight)
    assert opt2._state.steps == 3


@pytest.fixture
def parallel_updates():
    """Large updates on the OpenMP threads, as fastbp._gemm_backend allows them beside MKL."""
    allowed = _optim.parallel_updates_allowed()
    _optim.set_parallel_updates(True)
    yield
    _optim.set_parallel_updates(allowed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_a_large_parameter_updates_in_parallel_blocks_as_in_small_pieces(rng, case, dtype,
                                                                       parallel_updates):
    """Above 65,536 elements an update runs in blocks on the OpenMP threads; every rule is
    elementwise, so the same values cut into small parameters (updated serially) give the
    same bytes, at every thread count, step after step (SGD's first step included)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    name, options = case
    n, piece = 3 * 65536 + 11, 5000
    big = rng.standard_normal(n).astype(dtype)
    small = big.copy()
    big_grad, small_grad = np.zeros_like(big), np.zeros_like(small)
    cuts = range(0, n, piece)
    big_opt = getattr(fastbp, name)([(big, big_grad)], **options)
    small_opt = getattr(fastbp, name)([(small[k:k + piece], small_grad[k:k + piece])
                                       for k in cuts], **options)
    for threads in (2, 1, 2):
        with threadpoolctl.threadpool_limits(threads):
            big_grad[...] = rng.standard_normal(n).astype(dtype)
            small_grad[...] = big_grad
            big_opt.step()
            small_opt.step()
            assert big.tobytes() == small.tobytes()
