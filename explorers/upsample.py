"""Explorer `upsample`: one small image through nn.Upsample, for every mode × scale × align_corners.

A standalone generator (the explorer contract, README "Explorers"): the build runs it in the notebook sandbox
with an empty working folder, and it writes `variants.json` and one SVG per combination of the controls.
Every variant is a real `nn.Upsample(...)(image)` call; what torch does is recorded, not assumed:

- align_corners has three values, not two: None (the default), False and True. For the interpolating modes
  (bilinear, bicubic) None behaves as False; for nearest, nearest-exact and area *any* value but None,
  False included, makes the first call raise a ValueError. Those variants show the error torch gives.
- Warnings raised by the call are recorded too (torch 2.13 gives none for these calls; older versions warned
  about align_corners=None with the linear modes).
- Scales 1.5 and 2.5 are non-integer (where nearest and nearest-exact differ), 2 and 3 integer.

The input is a 4×4 image (a horizontal ramp with a bright 2×2 centre), so that even the ×3 output (12×12)
stays a small vector figure: one square per pixel, no raster embedded. Beside the two images, the profile of
row 1 shows the values themselves, where bicubic's overshoot past the input's range is visible.

`--only '{"mode": "bicubic", ...}'` computes that one variant (tests recompute one and compare it).
"""
from __future__ import annotations

import io
import itertools
import json
import re
import sys
import textwrap
import warnings
from pathlib import Path

import matplotlib as mpl

mpl.use("svg")
import matplotlib.pyplot as plt
import torch
import torch.nn as nn

MODES = ["nearest", "nearest-exact", "bilinear", "bicubic", "area"]
SCALES = ["1.5", "2", "2.5", "3"]
ALIGN = {"none": None, "false": False, "true": True}
ROW = 1  # the row whose profile is drawn
TITLE = {"en": "Explore: nn.Upsample's modes, scales and align_corners",
         "zh": "动手调：nn.Upsample 的插值模式、放大倍数与 align_corners"}
CONTROLS = [
    {"name": "mode", "kind": "select", "label": {"en": "mode", "zh": "插值模式（mode）"},
     "options": [{"value": m, "label": {"en": m, "zh": m}} for m in MODES]},
    {"name": "scale", "kind": "radio", "label": {"en": "scale_factor", "zh": "放大倍数（scale_factor）"},
     "options": [{"value": s, "label": {"en": f"×{s}", "zh": f"×{s}"}} for s in SCALES]},
    {"name": "align_corners", "kind": "radio", "label": {"en": "align_corners", "zh": "align_corners"},
     "options": [{"value": "none", "label": {"en": "None (default)", "zh": "None（默认）"}},
                 {"value": "false", "label": {"en": "False", "zh": "False"}},
                 {"value": "true", "label": {"en": "True", "zh": "True"}}]},
]
DEFAULT = {"mode": "bilinear", "scale": "2.5", "align_corners": "none"}

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "pytorch-docs", "font.sans-serif": ["DejaVu Sans"],
                     "font.monospace": ["DejaVu Sans Mono"], "font.size": 8,
                     "axes.spines.top": False, "axes.spines.right": False})


def input_image() -> torch.Tensor:
    """(1, 1, 4, 4): a ramp from 0 to 0.45 left to right, plus 0.5 on the centre 2×2 block."""
    c = torch.arange(4.0).expand(4, 4)
    block = torch.zeros(4, 4)
    block[1:3, 1:3] = 0.5
    return (0.15 * c + block)[None, None]


def r4(x: float) -> float:
    return round(float(x), 4)


def call_text(p: dict) -> str:
    ac = "" if p["align_corners"] == "none" else f", align_corners={ALIGN[p['align_corners']]}"
    return f"nn.Upsample(scale_factor={p['scale']}, mode={p['mode']!r}{ac})(image)"


def run(p: dict, image: torch.Tensor) -> dict:
    """One real call: the output (rounded to 4 digits), its range and any warning, or the error raised."""
    module = nn.Upsample(scale_factor=float(p["scale"]), mode=p["mode"], align_corners=ALIGN[p["align_corners"]])
    data: dict = {"call": call_text(p), "input_shape": list(image.shape)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = module(image)
        except (ValueError, NotImplementedError) as e:
            out, data["error"] = None, f"{type(e).__name__}: {e}"
    data["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    if out is not None:
        data["output_shape"] = list(out.shape)
        data["min"], data["max"] = r4(out.min()), r4(out.max())
        data["output"] = [[r4(v) for v in row] for row in out[0, 0].tolist()]
    return data


def alt(data: dict, image: torch.Tensor, same_as: str | None) -> dict:
    """The variant in words, from what the run recorded."""
    warned_en = f" It warns: {'; '.join(data['warnings'])}." if data["warnings"] else ""
    warned_zh = f"并给出警告：{'；'.join(data['warnings'])}。" if data["warnings"] else ""
    if "error" in data:
        return {"en": f"{data['call']} raises {data['error']}{warned_en}",
                "zh": f"{data['call']} 在第一次调用时抛出 {data['error']}{warned_zh}"}
    h, w = data["output_shape"][-2:]
    lo, hi = r4(image.min()), r4(image.max())
    h_out = data["output_shape"][-2]
    row = ", ".join(f"{v:g}" for v in data["output"][int((ROW + 0.5) * h_out / 4)])
    over_en = (f"beyond the input's range [{lo:g}, {hi:g}] (overshoot)" if data["min"] < lo or data["max"] > hi
               else f"within the input's range [{lo:g}, {hi:g}]")
    over_zh = (f"超出输入的取值范围 [{lo:g}, {hi:g}]（过冲）" if data["min"] < lo or data["max"] > hi
               else f"在输入的取值范围 [{lo:g}, {hi:g}] 之内")
    same_en = f" Identical to align_corners={same_as}." if same_as else ""
    same_zh = f"与 align_corners={same_as} 的结果完全相同。" if same_as else ""
    return {
        "en": (f"{data['call']}: the 4×4 input becomes {h}×{w}; values from {data['min']:g} to {data['max']:g}, "
               f"{over_en}. The output row through input row {ROW}: {row}.{same_en}{warned_en}"),
        "zh": (f"{data['call']}：4×4 的输入变成 {h}×{w}；取值从 {data['min']:g} 到 {data['max']:g}，{over_zh}。"
               f"经过输入第 {ROW} 行的那一行输出：{row}。{same_zh}{warned_zh}"),
    }


def squares(ax, values: list[list[float]], title: str) -> None:
    """An image drawn as one square marker per pixel (a vector figure, no embedded raster)."""
    n_rows, n_cols = len(values), len(values[0])
    xs = [c for r in range(n_rows) for c in range(n_cols)]
    ys = [r for r in range(n_rows) for c in range(n_cols)]
    flat = [v for row in values for v in row]
    ax.scatter(xs, ys, c=flat, cmap="viridis", vmin=-0.1, vmax=1.1, marker="s", s=(150 / max(n_rows, n_cols)) ** 2,
               linewidths=0)
    ax.set(xlim=(-0.5, n_cols - 0.5), ylim=(n_rows - 0.5, -0.5), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=8)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def figure(data: dict, image: torch.Tensor, scale: float) -> str:
    fig = plt.figure(figsize=(7.6, 3.0))
    fig.suptitle(textwrap.fill(data["call"], 100), fontsize=8, family="monospace")
    if "error" in data:
        fig.text(0.5, 0.5, textwrap.fill(data["error"], 90), ha="center", va="center", color="#b00020", fontsize=9)
    else:
        a, b, c = fig.subplots(1, 3, width_ratios=[1, 1, 1.5])
        fig.subplots_adjust(left=0.02, right=0.98, top=0.8, bottom=0.16, wspace=0.25)
        h, w = data["output_shape"][-2:]
        squares(a, image[0, 0].tolist(), "input 4×4")
        squares(b, data["output"], f"output {h}×{w}")
        out_r = int((ROW + 0.5) * h / 4 - 0.5 + 0.5)  # the output row whose centre lies nearest row ROW's
        b.axhline(out_r, color="white", lw=0.6, ls=":")
        a.axhline(ROW, color="white", lw=0.6, ls=":")
        # Profile of row ROW: input pixels as steps, output pixels as points at their centres (input units).
        src = image[0, 0, ROW].tolist()
        c.stairs(src, list(range(len(src) + 1)), color="0.55", label="input row")
        out_row = data["output"][out_r]
        centres = [(i + 0.5) * len(src) / w for i in range(w)]
        c.plot(centres, out_row, "o-", ms=3, lw=1, color="#c63d1f", label="output row")
        lo, hi = float(image.min()), float(image.max())
        for y in (lo, hi):
            c.axhline(y, color="0.7", lw=0.6, ls="--")
        c.set(xlim=(0, len(src)), ylim=(-0.15, 1.15), xticks=range(len(src) + 1), yticks=[0, 0.5, 1],
              xlabel="position (input pixels)", ylabel="value")
        c.set_title("profile through the dotted row", fontsize=8)
        c.legend(loc="upper left", fontsize=7, frameon=False)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=NO_METADATA)
    plt.close(fig)
    return compact(buf.getvalue())


#: No date (two runs write the same bytes) and no creator block (smaller files).
NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_GEOMETRY = re.compile(r'(\s(?:d|x|y|transform)=")([^"]*)"')


_HASHED_ID = re.compile(r"\b([Cp])[0-9a-f_]*[0-9a-f]{10}\b")


def compact(svg: str) -> str:
    """Coordinates to 0.1 pt (matplotlib writes 6 decimals) and short ids for the marker and clip paths
    (each pixel's <use> names one): the ×3 figures drop from 40 KB to under the 30 KB a variant may weigh,
    the same picture on screen. Only geometry attributes and ids change, never text."""
    svg = _GEOMETRY.sub(lambda m: m[1] + re.sub(r"(\d+\.\d)\d+", r"\1", m[2]) + '"', svg)
    short: dict[str, str] = {}
    return _HASHED_ID.sub(lambda m: short.setdefault(m[0], f"{m[1]}{len(short)}"), svg)


def file_name(p: dict) -> str:
    return f"{p['mode']}-x{p['scale']}-align-{p['align_corners']}.svg"


def main(argv: list[str]) -> None:
    only = json.loads(argv[argv.index("--only") + 1]) if "--only" in argv else None
    image = input_image()
    names = [c["name"] for c in CONTROLS]
    variants = []
    for values in itertools.product(*[[o["value"] for o in c["options"]] for c in CONTROLS]):
        p = dict(zip(names, values, strict=True))
        if (only is not None and p["mode"] != only["mode"]) or (only is not None and p["scale"] != only["scale"]):
            continue  # (the other align_corners values of the same mode and scale are needed for "identical to")
        variants.append((p, run(p, image)))
    done = []
    for p, data in variants:
        if only is not None and p != only:
            continue
        same_as = next((str(ALIGN[q["align_corners"]]) for q, d in variants
                        if q != p and q["mode"] == p["mode"] and q["scale"] == p["scale"]
                        and "output" in d and d.get("output") == data.get("output")), None) if "output" in data else None
        Path(file_name(p)).write_text(figure(data, image, float(p["scale"])), encoding="utf-8")
        done.append({"params": p, "figure": file_name(p), "alt": alt(data, image, same_as), "data": data})
    spec = {"name": "upsample", "topic": "upsample", "after_cell": "upsample-21", "title": TITLE,
            "controls": CONTROLS, "default": DEFAULT, "variants": done}
    Path("variants.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
