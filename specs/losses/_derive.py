"""The loss specs' defaults and checks, and the kind codes every loss template shares."""

REQUIRED = {"class_", "order", "family", "function_args", "class_args", "function_doc",
            "grad_doc", "class_doc"}
FAMILIES = {
    # elementwise: point functions (C_POINT) applied by the generic block loops
    "elementwise": {"c_point", "value", "grad"},
    # class rows: hand-written kernels; ARGS makes the record
    "class": {"kernels", "args"},
}
DEFAULTS = {"options": {}, "params": (), "weights": (), "unit_interval": False, "prologue": "",
            "float32": {}, "route": None}
MAX_PARAMS, MAX_WEIGHTS = 4, 2  # LossRecord.params, LossRecord.weights


def check(spec):
    def fail(message):
        raise ValueError(f"{spec.path}: {message}")

    spec.class_ = getattr(spec, "class", None)
    missing = (REQUIRED | FAMILIES.get(spec.family, set())) - set(vars(spec))
    if spec.family not in FAMILIES:
        fail(f"FAMILY: expected one of {sorted(FAMILIES)}, got {spec.family!r}")
    if missing:
        fail(f"missing {', '.join(sorted(n.upper().rstrip('_') for n in missing))}")
    for key, value in DEFAULTS.items():
        if not hasattr(spec, key):
            setattr(spec, key, value)
    names = set(spec.options) | {"reduction"}
    for key in ("function_args", "class_args"):
        args = getattr(spec, key)
        if set(args) != names or len(args) != len(names):
            fail(f"{key.upper()}: expected each of {sorted(names)} once, got {args}")
    for key, limit in (("params", MAX_PARAMS), ("weights", MAX_WEIGHTS)):
        if not set(getattr(spec, key)) <= set(spec.options) or len(getattr(spec, key)) > limit:
            fail(f"{key.upper()}: at most {limit} names of OPTIONS")
    if set(spec.float32) - {"arithmetic", "prologue", "value", "grad"}:
        fail("FLOAT32: keys are arithmetic, prologue, value, grad")


def c_block(spec, f32):
    """The DEFINE_*_BLOCK call (csrc/fastbp_kernels.c) of an elementwise loss, for float32
    (its FLOAT32 overrides) or float64."""
    over = spec.float32 if f32 else {}
    e = over.get("arithmetic", "double")
    prologue, value = over.get("prologue", spec.prologue), over.get("value", spec.value)
    grad = over.get("grad", spec.grad)
    scaled = f"gs * ({grad})" if e == "double" else f"({grad}) / gn"
    params = [f"const double {p} = a->params[{i}];" for i, p in enumerate(spec.params)]
    params += [f"const int has_{w} = a->weights[{i}] != NULL; (void)has_{w};"
               for i, w in enumerate(spec.weights)]
    head = f"{spec.name}, {e}, {' '.join(params)},"
    if not spec.weights:
        return (f"DEFINE_ELEMENTWISE_BLOCK({head}\n    {prologue}, {value},\n"
                f"    {scaled})")
    cast = "" if e == "double" else f"({e})"
    weighted = [f"const {e} {w} = {cast}weight{i}_buf[k];" for i, w in enumerate(spec.weights)]
    plain = [f"const {e} {w} = ({e})1.0; const int has_{w} = 0; (void)has_{w};"
             for w in spec.weights]
    return (f"DEFINE_WEIGHTED_BLOCK({head}\n    {' '.join(weighted)} {prologue},\n"
            f"    {' '.join(plain)} {prologue},\n    {value},\n    {scaled})")


def parameters(spec, names):
    """The Python parameters of ``names`` (annotated, with their defaults)."""
    def one(name):
        annotation, default = ("str", '"mean"') if name == "reduction" else spec.options[name][:2]
        return f"{name}: {annotation} = {default}"
    return ", ".join(one(name) for name in names)


def signature(name, params, returns, indent=""):
    """``def name(params) -> returns:`` wrapped at 100 columns, continuation lines aligned
    after the parenthesis."""
    head = f"{indent}def {name}("
    lines, line = [], head
    for i, param in enumerate(params.split(", ")):
        piece = param + ("," if i < params.count(", ") else f") -> {returns}:")
        if len(line) + len(piece) + 1 > 100 and line.strip() != head.strip():
            lines.append(line.rstrip())
            line = " " * len(head)
        line += piece + " "
    return "\n".join(lines + [line.rstrip()])


def derive(specs):
    for spec in specs:
        check(spec)
        spec.function_params = parameters(spec, spec.function_args)
        spec.class_params = parameters(spec, spec.class_args)
        spec.checks = {name: option[2] for name, option in spec.options.items()}
        # the text of the generated Python code
        head = "input: ArrayLike, target: ArrayLike, " + spec.function_params
        spec.def_value = signature(spec.name, head, "float | FloatArray")
        spec.def_grad = signature(spec.name + "_grad", head, "FloatArray")
        spec.def_both = signature(spec.name + "_and_grad", head,
                                  "tuple[float | FloatArray, FloatArray]")
        spec.def_init = signature("__init__", "self, " + spec.class_params, "None", "    ")
        spec.call_args = ", ".join(spec.function_args)
        spec.self_args = ", ".join("self." + name for name in spec.function_args)
        spec.param_checks = "".join(spec.checks[p] + ", " for p in spec.params)
        spec.weight_dict = "{" + ", ".join(f'"{w}": {w}' for w in spec.weights) + "}"
        spec.class_options = tuple(a for a in spec.class_args if a != "reduction")
        # the options a compiled step's record is made from (None: made anew at each step,
        # as it checks the target's values)
        spec.reused_options = None if spec.unit_interval else spec.class_args
        if spec.family == "elementwise":
            spec.c_block, spec.c_block_f32 = c_block(spec, False), c_block(spec, True)
    elementwise = [s for s in specs if s.family == "elementwise"]
    kernels = [s.name for s in elementwise] + [k for s in specs if s.family == "class"
                                               for k in s.kernels]
    names = {s.name for s in specs}
    for s in elementwise:
        if s.route is not None and s.route[1] not in names:
            raise ValueError(f"{s.path}: ROUTE: no loss {s.route[1]!r}")
    return {"loss_kinds": list(enumerate(kernels)), "elementwise_losses": elementwise,
            "max_loss_params": MAX_PARAMS}
