"""Explorer `data-batching`: which dataset index lands in which batch, and which worker loaded it.

A standalone generator (the explorer contract, README "Explorers"): the build runs it in the notebook sandbox
with an empty working folder, and it writes `variants.json` and one SVG per combination of the controls.
Every variant is a real `DataLoader` run over `range(10)`; nothing is computed by hand.

Controls: batch_size 1-4 (range), shuffle, drop_last (checkboxes), the sampler and num_workers 0 or 2.
Which combinations are meaningful is DataLoader's own business, so none is left out:

- sampler "default": DataLoader builds the sampler from `shuffle` (SequentialSampler or RandomSampler) and
  the BatchSampler from batch_size and drop_last. Every combination is valid.
- sampler "sequential" / "random": an explicit `sampler=SequentialSampler(...)` or `RandomSampler(...)`.
  With shuffle=True DataLoader refuses it: that ValueError, recorded from the real call, *is* the variant.
- sampler "custom": a batch sampler of our own (`ParityBatches`: never mixes even and odd indices, a
  stand-in for bucketing samples of similar length) given as `batch_sampler=`. DataLoader then refuses
  batch_size, shuffle and drop_last of its own, so the three controls go to the batch sampler instead (as
  one writes it in practice), and the figure notes the ValueError that DataLoader raises for them, again
  recorded from a real call.

The worker of each batch is recorded inside the dataset with `torch.utils.data.get_worker_info()`; seeds are
fixed (`torch.Generator().manual_seed(0)`) and the figures are written with a fixed hash salt and no date,
so two runs write the same bytes.

`--only '{"batch_size": "2", ...}'` computes that one variant (tests recompute one and compare it).
"""
from __future__ import annotations

import io
import itertools
import json
import sys
import textwrap
from pathlib import Path

import matplotlib as mpl

mpl.use("svg")
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler, get_worker_info

N = 10  # dataset size: sample i is i
SEED = 0
TITLE = {"en": "Explore: which index lands in which batch, and which worker loads it",
         "zh": "动手调：哪个索引进了哪一批、由哪个 worker 读取"}
SAMPLERS = {  # value: (en label, zh label)
    "default": ("default (from shuffle)", "默认（由 shuffle 决定）"),
    "sequential": ("SequentialSampler", "SequentialSampler"),
    "random": ("RandomSampler", "RandomSampler"),
    "custom": ("custom batch_sampler", "自定义 batch_sampler"),
}
CONTROLS = [
    {"name": "batch_size", "kind": "range", "label": {"en": "batch_size", "zh": "batch_size"},
     "options": [{"value": str(b), "label": {"en": str(b), "zh": str(b)}} for b in range(1, 5)]},
    {"name": "shuffle", "kind": "checkbox", "label": {"en": "shuffle", "zh": "shuffle"},
     "options": [{"value": v, "label": {"en": v, "zh": v}} for v in ("false", "true")]},
    {"name": "drop_last", "kind": "checkbox", "label": {"en": "drop_last", "zh": "drop_last"},
     "options": [{"value": v, "label": {"en": v, "zh": v}} for v in ("false", "true")]},
    {"name": "sampler", "kind": "select", "label": {"en": "sampler", "zh": "采样器"},
     "options": [{"value": k, "label": {"en": en, "zh": zh}} for k, (en, zh) in SAMPLERS.items()]},
    {"name": "num_workers", "kind": "radio", "label": {"en": "num_workers", "zh": "num_workers"},
     "options": [{"value": v, "label": {"en": v, "zh": v}} for v in ("0", "2")]},
]
DEFAULT = {"batch_size": "3", "shuffle": "false", "drop_last": "false", "sampler": "default", "num_workers": "0"}

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "pytorch-docs", "font.sans-serif": ["DejaVu Sans"],
                     "font.monospace": ["DejaVu Sans Mono"], "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False})


class WhoLoadsMe(Dataset):
    """Sample i is (i, the id of the worker that loaded it; -1 in the main process)."""

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> tuple[int, int]:
        info = get_worker_info()
        return i, -1 if info is None else info.id


class ParityBatches(Sampler[list[int]]):
    """A custom batch sampler: even indices first, then odd ones, never mixed in one batch."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, drop_last: bool, generator: torch.Generator):
        self.n, self.batch_size, self.shuffle, self.drop_last, self.generator = n, batch_size, shuffle, drop_last, generator

    def __iter__(self):
        for group in (list(range(0, self.n, 2)), list(range(1, self.n, 2))):
            if self.shuffle:
                group = [group[k] for k in torch.randperm(len(group), generator=self.generator).tolist()]
            for start in range(0, len(group), self.batch_size):
                batch = group[start:start + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    yield batch

    def __len__(self) -> int:
        per = [len(range(p, self.n, 2)) for p in (0, 1)]
        return sum(k // self.batch_size if self.drop_last else -(-k // self.batch_size) for k in per)


def call_text(p: dict) -> str:
    """The DataLoader call of a variant, as a reader would write it."""
    b, shuffle, drop_last, workers = int(p["batch_size"]), p["shuffle"] == "true", p["drop_last"] == "true", p["num_workers"]
    args = ["range(10)"]
    if p["sampler"] == "custom":
        args.append(f"batch_sampler=ParityBatches(batch_size={b}, shuffle={shuffle}, drop_last={drop_last})")
    else:
        args.append(f"batch_size={b}")
        if shuffle:
            args.append("shuffle=True")
        if drop_last:
            args.append("drop_last=True")
        if p["sampler"] == "sequential":
            args.append("sampler=SequentialSampler(...)")
        elif p["sampler"] == "random":
            args.append("sampler=RandomSampler(...)")
    if workers != "0":
        args.append(f"num_workers={workers}")
    return f"DataLoader({', '.join(args)})"


def run(p: dict) -> dict:
    """One real DataLoader run: the batches it yields (indices and worker), or the error it raises."""
    b, shuffle, drop_last, workers = int(p["batch_size"]), p["shuffle"] == "true", p["drop_last"] == "true", int(p["num_workers"])
    g = torch.Generator().manual_seed(SEED)
    ds = WhoLoadsMe()
    kwargs: dict = {"num_workers": workers, "generator": g}
    if workers:
        kwargs["multiprocessing_context"] = "fork"
    refused = None
    if p["sampler"] == "custom":
        kwargs["batch_sampler"] = ParityBatches(N, b, shuffle, drop_last, torch.Generator().manual_seed(SEED))
        if (b, shuffle, drop_last) != (1, False, False):  # what DataLoader says when given them itself
            try:
                DataLoader(ds, batch_size=b, shuffle=shuffle, drop_last=drop_last, **kwargs)
            except ValueError as e:
                refused = f"ValueError: {e}"
    else:
        kwargs.update(batch_size=b, shuffle=shuffle, drop_last=drop_last)
        if p["sampler"] == "sequential":
            kwargs["sampler"] = SequentialSampler(ds)
        elif p["sampler"] == "random":
            kwargs["sampler"] = RandomSampler(ds, generator=torch.Generator().manual_seed(SEED))
    try:
        loader = DataLoader(ds, **kwargs)
    except ValueError as e:
        return {"call": call_text(p), "error": f"ValueError: {e}"}
    batches = []
    for indices, wids in loader:
        ids = sorted(set(wids.tolist()))
        assert len(ids) == 1, f"one batch from several workers: {ids}"
        batches.append({"indices": indices.tolist(), "worker": ids[0]})
    seen = {i for batch in batches for i in batch["indices"]}
    data = {"call": call_text(p), "batches": batches, "dropped": sorted(set(range(N)) - seen)}
    if refused:
        data["dataloader_refuses"] = refused
    return data


def who(worker: int, lang: str) -> str:
    if worker < 0:
        return {"en": "main process", "zh": "主进程"}[lang]
    return {"en": f"worker {worker}", "zh": f"worker {worker}"}[lang]


def alt(data: dict) -> dict:
    """The variant's content in words, from the recorded data, in both languages."""
    if "error" in data:
        return {"en": f"{data['call']} raises {data['error']}",
                "zh": f"{data['call']} 在构造时抛出 {data['error']}"}
    out = {}
    for lang in ("en", "zh"):
        parts = [f"[{', '.join(map(str, b['indices']))}] {who(b['worker'], lang)}" for b in data["batches"]]
        if lang == "en":
            text = f"{data['call']}: {len(data['batches'])} batches in the order yielded: " + "; ".join(parts)
            text += f". Dropped: {', '.join(map(str, data['dropped']))}." if data["dropped"] else ". Nothing dropped."
            if data.get("dataloader_refuses"):
                text += f" Passing these options to DataLoader itself raises {data['dataloader_refuses']}"
        else:
            text = f"{data['call']}：按产出顺序共 {len(data['batches'])} 批：" + "；".join(parts)
            text += f"。丢弃：{', '.join(map(str, data['dropped']))}。" if data["dropped"] else "。没有丢弃样本。"
            if data.get("dataloader_refuses"):
                text += f"把这些参数直接交给 DataLoader 会抛出 {data['dataloader_refuses']}"
        out[lang] = text
    return out


COLORS = plt.get_cmap("tab10").colors


def figure(data: dict) -> str:
    """The index→batch grid (rows: batches as yielded; columns: dataset index) with each batch's worker."""
    fig, ax = plt.subplots(figsize=(7.6, 3.6))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.84, bottom=0.2)
    fig.suptitle(textwrap.fill(data["call"], 96, break_on_hyphens=False), fontsize=8, family="monospace")
    if "error" in data:
        ax.axis("off")
        ax.text(0.5, 0.55, textwrap.fill(data["error"], 90), ha="center", va="center", color="#b00020", fontsize=9)
    else:
        batches = data["batches"]
        rows = max(len(batches), 1)
        for r, batch in enumerate(batches):
            color = COLORS[r % len(COLORS)]
            for pos, i in enumerate(batch["indices"]):
                ax.add_patch(Rectangle((i - 0.45, r - 0.4), 0.9, 0.8, facecolor=color, edgecolor="none"))
                ax.text(i, r, str(pos), ha="center", va="center", fontsize=8, color="white")
            ax.text(N - 0.2, r, who(batch["worker"], "en"), va="center", fontsize=8)
        for i in data["dropped"]:
            ax.axvspan(i - 0.5, i + 0.5, color="0.88", zorder=0)
            ax.text(i, (rows - 1) / 2, "dropped", rotation=90, ha="center", va="center", fontsize=8)
        ax.set(xlim=(-0.6, N + 1.6), ylim=(rows - 0.5, -0.5), xticks=range(N), yticks=range(rows),
               xlabel="dataset index", ylabel="batch (in the order yielded)")
        ax.set_title("numbers: position inside the batch", fontsize=8, loc="left")
        if data.get("dataloader_refuses"):
            note = f"DataLoader(..., batch_sampler=..., batch_size=...) raises {data['dataloader_refuses']}"
            fig.text(0.01, 0.01, textwrap.fill(note, 120), fontsize=7, color="#555555", va="bottom")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def file_name(p: dict) -> str:
    return (f"b{p['batch_size']}-shuffle-{p['shuffle']}-drop-{p['drop_last']}-{p['sampler']}"
            f"-w{p['num_workers']}.svg")


def main(argv: list[str]) -> None:
    only = json.loads(argv[argv.index("--only") + 1]) if "--only" in argv else None
    names = [c["name"] for c in CONTROLS]
    variants = []
    for values in itertools.product(*[[o["value"] for o in c["options"]] for c in CONTROLS]):
        p = dict(zip(names, values, strict=True))
        if only is not None and p != only:
            continue
        data = run(p)
        Path(file_name(p)).write_text(figure(data), encoding="utf-8")
        variants.append({"params": p, "figure": file_name(p), "alt": alt(data), "data": data})
    spec = {"name": "data-batching", "topic": "data-batching", "after_cell": "data-batching-31", "title": TITLE,
            "controls": CONTROLS, "default": DEFAULT, "variants": variants}
    Path("variants.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
