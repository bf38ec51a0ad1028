"""The activation specs' checks and defaults, and what several templates share."""

import textwrap
import types

REQUIRED = {"order", "torch_module", "options", "kernels", "onnx", "doc", "backward_doc"}
DEFAULTS = {"selector": None, "c_constants": {}, "init_gain": None}
KERNEL_KEYS = {"code", "forward", "backward"}
KERNEL_OPTIONAL_KEYS = {"when", "forward_block"}
MAX_PARAMS = 2  # the kernels' p1, p2
FIRST_CODE = 6  # v1's Activation codes are IDENTITY .. LOG_SOFTMAX = 0 .. 5


def check(spec):
    def fail(message):
        raise ValueError(f"{spec.path}: {message}")

    missing = REQUIRED - set(vars(spec))
    if missing:
        fail(f"missing {', '.join(sorted(n.upper() for n in missing))}")
    for key, value in DEFAULTS.items():
        if not hasattr(spec, key):
            setattr(spec, key, value)
    for name, kernel in spec.kernels.items():
        if not KERNEL_KEYS <= set(kernel) <= KERNEL_KEYS | KERNEL_OPTIONAL_KEYS:
            fail(f"KERNELS[{name!r}]: expected {sorted(KERNEL_KEYS)} and maybe "
                 f"{sorted(KERNEL_OPTIONAL_KEYS)}, got {sorted(kernel)}")
    whens = [kernel.get("when") for kernel in spec.kernels.values()]
    if spec.selector is None and whens != [None]:
        fail("one kernel, without 'when', unless a SELECTOR picks it")
    if spec.selector is not None and (spec.selector not in spec.options
                                      or spec.options[spec.selector] not in whens
                                      or None in whens or len(set(whens)) != len(whens)):
        fail("SELECTOR: an option whose default and other values each pick one kernel "
             "('when')")
    if len(spec.options) - (spec.selector is not None) > MAX_PARAMS:
        fail(f"OPTIONS: the kernels take {MAX_PARAMS} at most (p1, p2) besides the SELECTOR")


def body(text):
    """Code of a spec as the body of a function: dedented, indented by 4."""
    return textwrap.indent(textwrap.dedent(text).strip("\n"), "    ")


def call(function, args):
    """``return function(args)`` in a function's body, an argument a line where the one
    line would pass 100 columns."""
    line = f"    return {function}({', '.join(args)})"
    return line if len(line) <= 100 else (f"    return {function}(\n"
                                          + "".join(f"        {a},\n" for a in args) + "    )")


def signature(name, params):
    """``def name(params) -> FloatArray:``, the parameters on a line of their own where the
    one line would pass 100 columns."""
    line = f"def {name}({params}) -> FloatArray:"
    return line if len(line) <= 100 else f"def {name}(\n    {params},\n) -> FloatArray:"


def kernel_args(spec):
    """The kernel's code, p1 and p2 as keyword arguments, from a functional form's
    arguments: each option checked in the order of OPTIONS, as _validate.activation_options
    checks them."""
    args = [] if spec.selector else [f"code=Activation.{next(iter(spec.kernels)).upper()}"]
    for option in spec.options:
        if option == spec.selector:
            args.append(f'code=v.kernel_choice({option}, "{option}", KERNELS["{spec.name}"][1])')
        else:
            args.append(f'p{spec.params.index(option) + 1}=v.real_number({option}, "{option}")')
    return args


def derive(specs):
    for spec in specs:
        check(spec)
        # the kernels' options, their p1 and p2 (as T in C): all but the SELECTOR
        spec.params = [o for o in spec.options if o != spec.selector]
        spec.c_params = "".join(f", T {p}" for p in spec.params)
        spec.c_args = "".join(f", p{i + 1}" for i in range(len(spec.params)))
        spec.kernel_list = [
            types.SimpleNamespace(name=name, code=k["code"], when=k.get("when"),
                                  forward=body(k["forward"]), backward=body(k["backward"]),
                                  forward_block=body(k.get("forward_block", "")))
            for name, k in spec.kernels.items()]
        # the text of the generated Python code
        options = "".join(f", {o}: {type(d).__name__} = " + (f'"{d}"' if isinstance(d, str)
                                                             else repr(d))
                          for o, d in spec.options.items())
        spec.def_forward = signature(spec.name, "x: ArrayLike" + options)
        spec.def_backward = signature(spec.name + "_backward",
                                      "grad_y: ArrayLike, x: ArrayLike" + options)
        spec.return_forward = call("_forward", ["x"] + kernel_args(spec))
        spec.return_backward = call("_backward", ["grad_y", "x"] + kernel_args(spec))
        spec.onnx_body = body(spec.onnx)
    kernels = [kernel for spec in specs for kernel in spec.kernel_list]
    codes = [kernel.code for kernel in kernels]
    if len(set(codes)) != len(codes) or min(codes, default=FIRST_CODE) < FIRST_CODE:
        raise ValueError(f"specs/activations: the kernels' codes must be distinct and at "
                         f"least {FIRST_CODE}, got {codes}")
    return {"activation_kernels": kernels}
