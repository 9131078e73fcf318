"""Explorer generator `init` (issue 16 item 2): initializer x nonlinearity, every variant from a real run.

A standalone script (torch + matplotlib only, never `tools`): run with an empty folder as the working
directory, it writes `variants.json` and one SVG per variant there (the explorer contract; the build runs it in
the notebook sandbox and caches it by the hash of this text and the torch version). `--only '<params as
JSON>'` writes that one variant (tests recompute one and compare it with the published one).

Each variant builds the same deep network as the page's "activations layer by layer" figure, shortened to
DEPTH layers: a first `Linear(IN_FEATURES -> WIDTH)` (the 256x1024 weight of the page's histogram figure,
so `fan_in` and `fan_out` differ there) and DEPTH - 1 square `Linear(WIDTH -> WIDTH)` layers, no bias, each
followed by the nonlinearity. The weights are filled by the chosen initializer with the gain that
`nn.init.calculate_gain` gives for the nonlinearity (Kaiming); a batch of standard-normal inputs goes through,
and the standard deviation of every layer's output is recorded. The figure shows the first layer's weights as
a histogram over the density the formula predicts, and the activation std per layer (the other initializers
in gray). Every seed is fixed, and torch runs on one thread, so two runs write the same bytes.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator
from torch import nn

NAME = "init"
AFTER_CELL = "init-20"  # the page's figure of activations and gradients through a deep ReLU network
DEPTH, WIDTH, IN_FEATURES, BATCH = 20, 256, 1024, 256
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default negative slope, passed to kaiming_normal_ as `a`
SEED = 0

# The page's plotting snippet (snippets/plotting.py), for the same look and byte-stable SVG.
plt.rcParams.update({
    "svg.fonttype": "none",
    "svg.hashsalt": "pytorch-docs",
    "figure.figsize": (8, 3.2),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    # The same first font as the page's figures, a shorter list: each <text> repeats it (SVG size), and the
    # generic family at its end lets a reader's system fall back to a CJK font for translated text.
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
})
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(value: float, _pos=None) -> str:
    """A log-axis tick as plain text (10⁻⁵): mathtext would write every glyph as its own <tspan>."""
    exponent = round(math.log10(value)) if value > 0 else 0
    return "10" + str(exponent).translate(_SUPERSCRIPT)

#: value -> (figure label, zh label for the control)
INITIALIZERS = {
    "kaiming_fan_in": ("kaiming_normal_ (fan_in)", "kaiming_normal_（fan_in）"),
    "kaiming_fan_out": ("kaiming_normal_ (fan_out)", "kaiming_normal_（fan_out）"),
    "xavier": ("xavier_normal_", "xavier_normal_"),
    "normal_001": ("normal_ (std=0.01)", "normal_（std=0.01）"),
    "linear_default": ("nn.Linear default", "nn.Linear 默认"),
}
NONLINEARITIES = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE), "tanh": nn.Tanh}


def gain_of(nonlinearity: str) -> float:
    """The gain `kaiming_normal_` uses for this nonlinearity (calculate_gain, with the slope for leaky_relu)."""
    return nn.init.calculate_gain(nonlinearity, LEAKY_SLOPE if nonlinearity == "leaky_relu" else None)


def theory(init: str, nonlinearity: str, fan_in: int, fan_out: int) -> dict:
    """The distribution the formula predicts for a weight with these fans: kind, parameter, std and formula."""
    gain = gain_of(nonlinearity)
    g = f"calculate_gain('{nonlinearity}'" + (f", {LEAKY_SLOPE}" if nonlinearity == "leaky_relu" else "") + ")"
    if init in ("kaiming_fan_in", "kaiming_fan_out"):
        mode, fan = ("fan_in", fan_in) if init == "kaiming_fan_in" else ("fan_out", fan_out)
        std = gain / math.sqrt(fan)
        return {"kind": "normal", "std": std, "gain": gain,
                "formula": f"std = gain / sqrt({mode}) = {gain:.4g} / sqrt({fan}), gain = {g}"}
    if init == "xavier":  # xavier_normal_'s default gain is 1, whatever the nonlinearity
        std = math.sqrt(2.0 / (fan_in + fan_out))
        return {"kind": "normal", "std": std, "gain": 1.0,
                "formula": f"std = 1 * sqrt(2 / (fan_in + fan_out)) = sqrt(2 / ({fan_in} + {fan_out}))"}
    if init == "normal_001":
        return {"kind": "normal", "std": 0.01, "gain": None, "formula": "std = 0.01"}
    # nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) -> U(-b, b), b = gain(a) * sqrt(3 / fan_in)
    bound = nn.init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fan_in)
    return {"kind": "uniform", "bound": bound, "std": bound / math.sqrt(3), "gain": None,
            "formula": f"U(-b, b), b = calculate_gain('leaky_relu', sqrt(5)) * sqrt(3 / {fan_in}) = 1 / sqrt({fan_in})"}


def fill(weight: torch.Tensor, init: str, nonlinearity: str) -> None:
    """Initialize one weight in place, as a reader would call it."""
    a = LEAKY_SLOPE if nonlinearity == "leaky_relu" else 0
    if init == "kaiming_fan_in":
        nn.init.kaiming_normal_(weight, a=a, mode="fan_in", nonlinearity=nonlinearity)
    elif init == "kaiming_fan_out":
        nn.init.kaiming_normal_(weight, a=a, mode="fan_out", nonlinearity=nonlinearity)
    elif init == "xavier":
        nn.init.xavier_normal_(weight)
    elif init == "normal_001":
        nn.init.normal_(weight, std=0.01)
    # linear_default: keep what nn.Linear's constructor drew


def run(init: str, nonlinearity: str) -> dict:
    """One real run: build, initialize, forward a batch; the first weight and the std of every layer."""
    torch.manual_seed(SEED)
    x = torch.randn(BATCH, IN_FEATURES)
    torch.manual_seed(SEED + 1)  # the same stream for every initializer: only the rule differs
    layers = [nn.Linear(IN_FEATURES if i == 0 else WIDTH, WIDTH, bias=False) for i in range(DEPTH)]
    act = NONLINEARITIES[nonlinearity]()
    with torch.no_grad():
        for layer in layers:
            fill(layer.weight, init, nonlinearity)
        h, stds = x, []
        for layer in layers:
            h = act(layer(h))
            stds.append(h.std().item())
    w = layers[0].weight.detach()
    return {"weight": w, "stds": stds}


def sig(v: float, digits: int = 6) -> float:
    """A float rounded to `digits` significant digits: what variants.json records."""
    return float(f"{v:.{digits}g}")


def draw(init: str, nonlinearity: str, result: dict, th: dict, others: dict[str, list[float]], ylim) -> plt.Figure:
    fig, (ax_w, ax_a) = plt.subplots(1, 2, figsize=(9, 3.4))
    w = result["weight"].flatten()
    # the range of the distribution the formula predicts: each variant's histogram is seen at its own scale
    # (for the uniform, 1.25 b in 40 bins puts bin edges exactly on -b and b)
    lim = 4.5 * th["std"] if th["kind"] == "normal" else 1.25 * th["bound"]
    ax_w.hist(w.numpy(), bins=40, range=(-lim, lim), density=True, histtype="stepfilled",
              alpha=0.55, label=f"sampled weights, std {w.std().item():.4f}")
    if th["kind"] == "normal":
        s = th["std"]
        xs = torch.linspace(-lim, lim, 161)
        pdf = torch.exp(-xs**2 / (2 * s**2)) / (s * math.sqrt(2 * math.pi))
        label = f"theory N(0, σ²), σ = {s:.4f}"
    else:  # the uniform density is a box: its corners are the whole curve
        b = th["bound"]
        xs = torch.tensor([-lim, -b, -b, b, b, lim])
        pdf = torch.tensor([0, 0, 1, 1, 0, 0]) / (2 * b)
        label = f"theory U(−b, b), b = {b:.4f}"
    ax_w.plot(xs.numpy(), pdf.numpy(), color="black", lw=1.2, label=label)
    ax_w.set_xlim(-lim, lim)
    ax_w.xaxis.set_major_locator(MaxNLocator(5, symmetric=True))
    ax_w.set_title(f"first layer's weights ({WIDTH}×{IN_FEATURES})", fontsize=10)
    ax_w.set_xlabel("weight value")
    ax_w.set_ylabel("density")
    ax_w.set_ylim(0, ax_w.get_ylim()[1] * 1.3)  # room for the legend above the histogram
    ax_w.grid(False)  # a histogram reads without it, and the SVG stays under 30 KB
    ax_w.legend(fontsize=7, loc="upper right")

    layers = list(range(1, DEPTH + 1))
    for other, stds in others.items():
        if other != init:
            ax_a.semilogy(layers, stds, color="0.75", lw=1)
    ax_a.semilogy(layers, result["stds"], color="C1", lw=1.8, label=INITIALIZERS[init][0])
    ax_a.semilogy([], [], color="0.75", lw=1, label="the other initializers")
    ax_a.set_ylim(*ylim)
    ax_a.yaxis.set_major_locator(LogLocator(numticks=6))
    ax_a.yaxis.set_major_formatter(FuncFormatter(power_of_ten))
    ax_a.yaxis.set_minor_locator(NullLocator())  # minor ticks: many <use> elements, little information
    ax_a.set_xticks([1, 5, 10, 15, 20])
    ax_a.set_title(f"std of the {nonlinearity} activations, layer by layer", fontsize=10)
    ax_a.set_xlabel("layer")
    ax_a.set_ylabel("std (log scale)")
    ax_a.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{INITIALIZERS[init][0]} with {nonlinearity}: {DEPTH} layers, width {WIDTH}, no bias",
                 fontsize=10)
    fig.tight_layout()
    return fig


def alt_texts(init: str, nonlinearity: str, data: dict) -> dict[str, str]:
    """Alt text in en and zh, from what the run recorded."""
    label_en, label_zh = INITIALIZERS[init]
    stds = data["activation_std"]
    w = data["weight"]
    kind_en = "normal" if w["theory_kind"] == "normal" else "uniform"
    kind_zh = "正态分布" if w["theory_kind"] == "normal" else "均匀分布"
    first, last = f"{stds[0]:.3g}", f"{stds[-1]:.3g}"
    en = (f"{label_en} with {nonlinearity}. Left: a histogram of the first layer's {WIDTH}×{IN_FEATURES} weights "
          f"over the theoretical {kind_en} density; measured std {w['std']:.4f}, theory {w['theory_std']:.4f}. "
          f"Right: the standard deviation of each layer's {nonlinearity} output on a log scale, "
          f"{first} at layer 1 and {last} at layer {DEPTH}; the other initializers are drawn in gray.")
    zh = (f"{label_zh}，非线性函数 {nonlinearity}。左：第一层 {WIDTH}×{IN_FEATURES} 权重的直方图，叠加理论{kind_zh}密度；"
          f"实测标准差 {w['std']:.4f}，理论值 {w['theory_std']:.4f}。"
          f"右：各层 {nonlinearity} 输出的标准差（对数刻度），第 1 层 {first}，第 {DEPTH} 层 {last}；其余初始化方式以灰色绘出。")
    return {"en": en, "zh": zh}


def main(out: Path = Path(), only: dict | None = None) -> dict:
    """Run every variant (or, with `only`, the one with those params: tests recompute one and compare it)
    and write the figures and variants.json into `out`."""
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    variants = []
    for nonlinearity in NONLINEARITIES:
        if only is not None and only["nonlinearity"] != nonlinearity:
            continue
        runs = {init: run(init, nonlinearity) for init in INITIALIZERS}  # all five: the gray lines and the axis
        all_stds = [s for r in runs.values() for s in r["stds"]]
        ylim = (min(all_stds) / 3, max(all_stds) * 3)
        for init, result in runs.items():
            if only is not None and only["initializer"] != init:
                continue
            w = result["weight"]
            th = theory(init, nonlinearity, fan_in=w.shape[1], fan_out=w.shape[0])
            data = {
                "activation_std": [sig(s) for s in result["stds"]],
                "weight": {"shape": list(w.shape), "std": sig(w.std().item()), "theory_std": sig(th["std"]),
                           "theory_kind": th["kind"], "formula": th["formula"],
                           "gain": None if th["gain"] is None else sig(th["gain"])},
                "depth": DEPTH, "width": WIDTH, "in_features": IN_FEATURES, "batch": BATCH, "seed": SEED,
            }
            if th["kind"] == "uniform":
                data["weight"]["theory_bound"] = sig(th["bound"])
                data["weight"]["max_abs"] = sig(w.abs().max().item())
            fig = draw(init, nonlinearity, result, th, {k: r["stds"] for k, r in runs.items()}, ylim)
            figure = f"{init}-{nonlinearity}.svg"
            fig.savefig(out / figure, format="svg", metadata={"Date": None})
            plt.close(fig)
            variants.append({"params": {"initializer": init, "nonlinearity": nonlinearity}, "figure": figure,
                             "alt": alt_texts(init, nonlinearity, data), "data": data})
    spec = {
        "name": NAME, "topic": "init", "after_cell": AFTER_CELL,
        "title": {"en": "Explore: initializer × nonlinearity", "zh": "动手试试：初始化方式 × 非线性函数"},
        "controls": [
            {"name": "initializer", "kind": "select", "label": {"en": "Initializer", "zh": "初始化方式"},
             "options": [{"value": k, "label": {"en": en, "zh": zh}} for k, (en, zh) in INITIALIZERS.items()]},
            {"name": "nonlinearity", "kind": "radio", "label": {"en": "Nonlinearity", "zh": "非线性函数"},
             "options": [{"value": k, "label": {"en": k, "zh": k}} for k in NONLINEARITIES]},
        ],
        "default": {"initializer": "kaiming_fan_in", "nonlinearity": "relu"},
        "variants": variants,
    }
    (out / "variants.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return spec


if __name__ == "__main__":
    import sys

    argv = sys.argv[1:]
    main(only=json.loads(argv[argv.index("--only") + 1]) if "--only" in argv else None)
