"""Explorer generator `autograd` (issue 16 item 2): step through the backward pass of the page's small network.

A standalone script (torch + graphviz only, never `tools`): run with an empty folder as the working
directory, it writes `variants.json` and one SVG per step there (the explorer contract); `--only '{"step":
"3"}'` writes that one step (tests recompute one and compare it with the published one).

The network, data and graph are the page's: `Linear(4, 3) -> ReLU -> Linear(3, 1)` with an MSE loss on a
batch of 2 samples after `torch.manual_seed(0)` (notebooks/*/autograd.ipynb, cells autograd-13 and
autograd-25/26: the same node ids, labels, shapes and colors as the page's `draw_graph`). The ORDER of the
steps is not assumed: before `loss.backward()` every node of the graph gets a pre-hook
(`Node.register_prehook`: the engine is about to run it, with the gradient it received) and a hook
(`Node.register_hook`: it ran, with the gradients it sends along `next_functions`), and every parameter a
post-accumulate-grad hook (`Tensor.register_post_accumulate_grad_hook`: its `.grad` was written). The steps
are the nodes in the order the pre-hooks fired; each step's figure highlights the node and shows the
gradients it writes. Step 0 is the start: `backward()` seeds the loss with the gradient 1.
"""
from __future__ import annotations

import json
from pathlib import Path

import graphviz
import torch
import torch.nn.functional as F
from torch import nn

NAME = "autograd"
AFTER_CELL = "autograd-26"  # the page's figure of the backward graph
SEED = 0

FONT = {"fontname": "Helvetica", "fontsize": "10"}
COLORS = {"root": "#fde68a", "node": "#e5e7eb", "leaf": "#bfdbfe"}  # the page's draw_graph
CURRENT = {"fillcolor": "#fdba74", "color": "#c2410c", "penwidth": "2.5"}
PENDING = {"fillcolor": "#f9fafb", "color": "#9ca3af", "fontcolor": "#6b7280"}
EDGE_CURRENT = {"color": "#c2410c", "fontcolor": "#9a3412", "penwidth": "2"}
EDGE_PENDING = {"color": "#9ca3af", "style": "dashed"}


def page_example() -> tuple[nn.Module, torch.Tensor]:
    """The page's model and loss (autograd-01 seeds 0; autograd-13 draws the model, inputs and target)."""
    torch.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    inputs = torch.randn(2, 4)  # a batch of 2 samples, needs no gradient
    target = torch.randn(2, 1)
    return model, F.mse_loss(model(inputs), target)


def graph_of(loss: torch.Tensor, model: nn.Module) -> dict:
    """The page's draw_graph walk, as data: ids in its visiting order, labels, kinds and edges (saved tensors
    are read now, before backward() frees them)."""
    names = {id(p): n for n, p in model.named_parameters()}
    ids: dict[int, str] = {}
    nodes = {"loss": {"label": f"loss\nshape {tuple(loss.shape)}", "kind": "root", "name": "loss"}}
    edges = [("loss", None)]
    objects: dict[str, object] = {}

    def visit(fn) -> str:
        if id(fn) in ids:
            return ids[id(fn)]
        key = ids[id(fn)] = f"n{len(ids)}"
        objects[key] = fn
        if hasattr(fn, "variable"):  # AccumulateGrad: writes the leaf's .grad
            v = fn.variable
            param = names.get(id(v), "leaf")
            nodes[key] = {"label": f"{param}\n{tuple(v.shape)}", "kind": "leaf", "name": "AccumulateGrad",
                          "param": param}
            return key
        saved = [f"saved {a[len('_saved_'):]}: {tuple(t.shape)}" for a in dir(fn)
                 if a.startswith("_saved_") and isinstance(t := getattr(fn, a), torch.Tensor)]
        nodes[key] = {"label": "\n".join([type(fn).__name__, *saved]), "kind": "node", "name": type(fn).__name__}
        nodes[key]["next"] = [None if nxt is None else visit(nxt) for nxt, _ in fn.next_functions]
        for nxt in nodes[key]["next"]:
            if nxt is not None:
                edges.append((key, nxt))
        return key

    root = visit(loss.grad_fn)
    edges[0] = ("loss", root)
    return {"nodes": nodes, "edges": edges, "objects": objects, "root": root}


def values(t: torch.Tensor) -> list:
    """A gradient as nested lists of floats, rounded to 6 significant digits (what variants.json records)."""
    return [values(r) for r in t] if t.dim() else float(f"{t.item():.6g}")


def record_backward(model: nn.Module, loss: torch.Tensor, graph: dict) -> list[dict]:
    """Run loss.backward() with hooks on every node and parameter; the steps in the engine's order."""
    key_of = {id(fn): key for key, fn in graph["objects"].items()}
    steps: list[dict] = []
    handles = []
    for key, fn in graph["objects"].items():
        def pre(grad_outputs, key=key):
            steps.append({"id": key, "received": [None if g is None else g.detach().clone() for g in grad_outputs]})

        def post(grad_inputs, grad_outputs, key=key):
            assert steps[-1]["id"] == key, f"{key} finished while {steps[-1]['id']} was the last to start"
            steps[-1]["sent"] = [None if g is None else g.detach().clone() for g in grad_inputs]

        handles += [fn.register_prehook(pre), fn.register_hook(post)]
    accumulated: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        def written(t, name=name):
            accumulated[name] = t.grad.detach().clone()
            steps[-1]["accumulated"] = name  # the AccumulateGrad node running now wrote this .grad
        handles.append(p.register_post_accumulate_grad_hook(written))
    loss.backward()
    for h in handles:
        h.remove()
    assert len(steps) == len(graph["objects"]) == len({s["id"] for s in steps}), "every node runs exactly once"
    assert set(key_of.values()) == {s["id"] for s in steps}
    for s in steps:
        node = graph["nodes"][s["id"]]
        if node["kind"] == "leaf":  # the engine's hook and the tensor's hook agree on what .grad became
            assert s.get("accumulated") == node["param"], (s, node)
            s["grad"] = accumulated[node["param"]]
    return steps


def fmt(t: torch.Tensor) -> list[str]:
    """A small gradient as lines of text, one row per line (3 decimals)."""
    rows = t.reshape(1) if t.dim() == 0 else t
    if rows.dim() == 1:
        return ["[" + ", ".join(f"{v:.3f}" for v in rows.tolist()) + "]"]
    return ["[" + ", ".join(f"{v:.3f}" for v in r.tolist()) + "]" for r in rows]


def display(node: dict) -> str:
    """A node as a sentence names it."""
    return f"AccumulateGrad ({node['param']})" if node["kind"] == "leaf" else node["name"]


def draw(graph: dict, steps: list[dict], k: int) -> str:
    """The SVG of step k (0 = the start): done nodes in the page's colors, the current one orange with the
    gradients it writes, the rest gray."""
    order = ["loss"] + [s["id"] for s in steps]
    current = order[k]
    done = set(order[:k])
    n = len(steps)
    head = (f"backward step {k} of {n}: {display(graph['nodes'][current])} runs" if k
            else "backward() starts: the loss receives the gradient 1")
    dot = graphviz.Digraph(
        graph_attr={"label": head + "\norange: running now, with the gradients it writes; gray: not yet run",
                    "labelloc": "t", **FONT},
        node_attr={**FONT, "style": "filled"})
    shapes = {"root": "doubleoctagon", "node": "box", "leaf": "ellipse"}
    step = steps[k - 1] if k else None
    for key, node in graph["nodes"].items():
        label = node["label"]
        style = {"fillcolor": COLORS[node["kind"]]}
        if key == current:
            style = dict(CURRENT)
            if node["kind"] == "leaf":
                label += "\nadds the gradient into .grad:\n" + "\n".join(fmt(step["grad"]))
        elif key not in done:
            style = dict(PENDING)
        dot.node(key, label, shape=shapes[node["kind"]], **style)
    for a, b in graph["edges"]:
        attrs: dict[str, str] = {}
        if a == current:
            attrs = dict(EDGE_CURRENT, fontname=FONT["fontname"], fontsize="9")
            if k == 0:
                grad = torch.ones(())
            else:
                grad = step["sent"][graph["nodes"][a]["next"].index(b)]
            attrs["label"] = f" gradient {tuple(grad.shape)}\n" + "\n".join(fmt(grad))
        elif a not in done:
            attrs = dict(EDGE_PENDING)
        dot.edge(a, b, **attrs)
    return dot.pipe(format="svg", encoding="utf-8")


def alt_texts(graph: dict, steps: list[dict], k: int) -> dict[str, str]:
    """Alt text of step k in en and zh, from the recorded data."""
    n = len(steps)
    if k == 0:
        first = display(graph["nodes"][steps[0]["id"]])
        return {"en": f"The backward graph of the page's network before any node has run: backward() starts at "
                      f"the loss with the gradient 1, which goes to {first}, the first of {n} nodes to run.",
                "zh": f"反向传播开始前的计算图：backward() 从 loss 开始，梯度为 1，传给 {first}，它是 {n} 个节点中第一个运行的。"}
    step = steps[k - 1]
    node = graph["nodes"][step["id"]]
    before = display(graph["nodes"][steps[k - 2]["id"]]) if k > 1 else None
    if node["kind"] == "leaf":
        vals = " ".join(fmt(step["grad"]))
        en = f"Backward step {k} of {n}: AccumulateGrad of {node['param']} adds the gradient {vals} into {node['param']}.grad."
        zh = f"反向传播第 {k} 步（共 {n} 步）：{node['param']} 的 AccumulateGrad 把梯度 {vals} 累加进 {node['param']}.grad。"
    else:
        sent = [(graph["nodes"][b], g) for b, g in zip(node["next"], step["sent"], strict=True) if b is not None]
        parts_en = [f"{tuple(g.shape)} {' '.join(fmt(g))} to {display(t)}" for t, g in sent]
        parts_zh = [f"{tuple(g.shape)} {' '.join(fmt(g))} 给 {display(t)}" for t, g in sent]
        en = f"Backward step {k} of {n}: {node['name']} runs and sends the gradients " + "; ".join(parts_en) + "."
        zh = f"反向传播第 {k} 步（共 {n} 步）：{node['name']} 运行，发出梯度：" + "；".join(parts_zh) + "。"
    if before:
        en += f" 1 node ran before it: {before}." if k == 2 else f" {k - 1} nodes ran before it, the last {before}."
        zh += f"在它之前已运行 {k - 1} 个节点，最近的是 {before}。"
    return {"en": en, "zh": zh}


def step_data(graph: dict, steps: list[dict], k: int) -> dict:
    """What variants.json records for step k: the node, what it received and the gradients it wrote."""
    if k == 0:
        return {"step": 0, "node": "loss", "id": "loss", "order": [graph["nodes"][s["id"]]["name"] for s in steps],
                "writes": [{"to": graph["root"], "shape": [], "values": 1.0}]}
    step = steps[k - 1]
    node = graph["nodes"][step["id"]]
    data = {"step": k, "node": node["name"], "id": step["id"],
            "received": [None if g is None else values(g) for g in step["received"]]}
    if node["kind"] == "leaf":
        data["param"] = node["param"]
        data["writes"] = [{"to": f"{node['param']}.grad", "shape": list(step["grad"].shape),
                           "values": values(step["grad"])}]
    else:
        data["writes"] = [{"to": b, "to_node": graph["nodes"][b]["name"], "shape": list(g.shape), "values": values(g)}
                          for b, g in zip(node["next"], step["sent"], strict=True) if b is not None]
    return data


def main(out: Path = Path(), only: dict | None = None) -> dict:
    """Record the backward pass and write every step's figure (or, with `only`, that step's) and
    variants.json into `out`."""
    torch.set_num_threads(1)
    model, loss = page_example()
    graph = graph_of(loss, model)
    steps = record_backward(model, loss, graph)
    variants = []
    for k in range(len(steps) + 1):
        if only is not None and only["step"] != str(k):
            continue
        figure = f"step-{k:02d}.svg"
        (out / figure).write_text(draw(graph, steps, k), encoding="utf-8")
        variants.append({"params": {"step": str(k)}, "figure": figure, "alt": alt_texts(graph, steps, k),
                         "data": step_data(graph, steps, k)})
    options = [{"value": str(k), "label": {"en": f"{k}", "zh": f"{k}"}} for k in range(len(steps) + 1)]
    spec = {
        "name": NAME, "topic": "autograd", "after_cell": AFTER_CELL,
        "title": {"en": "Explore: the backward pass, node by node", "zh": "动手试试：逐个节点走一遍反向传播"},
        "controls": [{"name": "step", "kind": "range", "label": {"en": "Step of the backward pass",
                                                                "zh": "反向传播的步骤"},
                      "options": options}],
        "default": {"step": "0"},
        "variants": variants,
    }
    (out / "variants.json").write_text(json.dumps(spec, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return spec


if __name__ == "__main__":
    import sys

    argv = sys.argv[1:]
    main(only=json.loads(argv[argv.index("--only") + 1]) if "--only" in argv else None)
