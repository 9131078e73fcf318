"""The `init` and `autograd` explorer generators (issue 16 item 2): deterministic, valid, and what they record
is what torch really does — the autograd order is the engine's, the init figures are the direct computation."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
EXPLORERS = ROOT / "explorers"


def run_generator(name: str, out: Path, *args: str) -> dict:
    """Run explorers/<name>.py as the build does (a fresh process, an empty working folder)."""
    out.mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(EXPLORERS / f"{name}.py"), *args], cwd=out,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"explorers/{name}.py failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads((out / "variants.json").read_text(encoding="utf-8"))


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"explorer_{name}", EXPLORERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_RUNS: dict[str, tuple[Path, Path]] = {}


def runs_of(name: str, tmp_path_factory) -> tuple[Path, Path]:
    """Two full runs of a generator, made once per test session and shared by the tests below."""
    if name not in _RUNS:
        base = tmp_path_factory.mktemp(name)
        run_generator(name, base / "a")
        run_generator(name, base / "b")
        _RUNS[name] = (base / "a", base / "b")
    return _RUNS[name]


@pytest.fixture(scope="module", params=["init", "autograd"])
def two_runs(request, tmp_path_factory) -> tuple[str, Path, Path]:
    return (request.param, *runs_of(request.param, tmp_path_factory))


def test_two_runs_write_the_same_bytes(two_runs):
    name, a, b = two_runs
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    assert len(files) > 2
    differ = [f for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert not differ, f"explorers/{name}.py: two runs differ in {differ}"


def test_output_follows_the_explorer_contract(two_runs):
    from tools.explorers import validate
    from tools.sanitize import check_svg_bytes

    name, a, _ = two_runs
    spec = validate(a, name, f"explorers/{name}.py")  # raises, naming every problem
    for v in spec["variants"]:
        svg = (a / v["figure"]).read_bytes()
        assert len(svg) <= 30 * 1024 and not check_svg_bytes(svg), v["figure"]
        assert v["alt"]["en"] != v["alt"]["zh"] and all(v["alt"].values())
    assert len({v["alt"]["en"] for v in spec["variants"]}) == len(spec["variants"]), "every alt text says which variant"


@pytest.mark.parametrize("name, params", [("init", {"initializer": "linear_default", "nonlinearity": "tanh"}),
                                          ("autograd", {"step": "7"})])
def test_only_recomputes_one_variant_equal_to_the_full_run(name, params, tmp_path, tmp_path_factory):
    full_run = runs_of(name, tmp_path_factory)[1]
    full = json.loads((full_run / "variants.json").read_text(encoding="utf-8"))
    one = run_generator(name, tmp_path / "one", "--only", json.dumps(params))
    assert [v["params"] for v in one["variants"]] == [params]
    published = next(v for v in full["variants"] if v["params"] == params)
    assert one["variants"][0] == published
    fig = published["figure"]
    assert (tmp_path / "one" / fig).read_bytes() == (full_run / fig).read_bytes()


# autograd: the order is the engine's --------------------------------------------------------------------


@pytest.fixture(scope="module")
def autograd_spec(tmp_path_factory) -> dict:
    out = runs_of("autograd", tmp_path_factory)[0]
    return json.loads((out / "variants.json").read_text(encoding="utf-8")) | {"folder": str(out)}


def engine_order() -> list[str]:
    """The order in which the autograd engine evaluates the nodes of the page's graph, from the profiler
    (no hooks involved): its `autograd::engine::evaluate_function: <node>` events."""
    gen = load_module("autograd")
    _model, loss = gen.page_example()
    with torch.autograd.profiler.profile() as prof:
        loss.backward()
    prefix = "autograd::engine::evaluate_function: "
    names = [e.name[len(prefix):] for e in sorted(prof.function_events, key=lambda e: e.time_range.start)
             if e.name.startswith(prefix)]
    return [n.replace("torch::autograd::", "") for n in names]


def test_autograd_order_is_what_the_engine_reports(autograd_spec):
    recorded = autograd_spec["variants"][0]["data"]["order"]
    steps = [v["data"]["node"] for v in autograd_spec["variants"][1:]]
    assert steps == recorded
    assert recorded == engine_order()
    assert len(recorded) == 10


def test_autograd_order_is_a_topological_order_of_the_graph(autograd_spec):
    """Every node runs after every node that sends it a gradient (the graph's edges, read from
    next_functions in a fresh process), and the leaves' tensor hooks fire in the recorded leaf order."""
    gen = load_module("autograd")
    model, loss = gen.page_example()
    graph = gen.graph_of(loss, model)
    ids = [v["data"]["id"] for v in autograd_spec["variants"][1:]]
    assert sorted(ids) == sorted(graph["objects"])
    position = {key: i for i, key in enumerate(ids)}
    for a, b in graph["edges"]:
        if a != "loss":
            assert position[a] < position[b], f"{b} ran before {a}, which sends it a gradient"
    fired: list[str] = []
    for name, p in model.named_parameters():
        p.register_hook(lambda g, name=name: fired.append(name))
    loss.backward()
    leaf_steps = [v["data"]["param"] for v in autograd_spec["variants"] if "param" in v["data"]]
    assert fired == leaf_steps


def test_autograd_gradients_are_the_real_ones(autograd_spec):
    """What each AccumulateGrad step writes is the parameter's .grad after a plain backward(); what the loss
    node sends is d(mse)/d(prediction) = 2 (prediction - target) / N."""
    gen = load_module("autograd")
    model, loss = gen.page_example()
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    for v in autograd_spec["variants"]:
        if "param" in v["data"]:
            (write,) = v["data"]["writes"]
            assert torch.allclose(torch.tensor(write["values"]), grads[v["data"]["param"]], rtol=1e-5, atol=1e-7)
            assert v["data"]["param"] in v["alt"]["en"] and v["data"]["param"] in v["alt"]["zh"]
    torch.manual_seed(gen.SEED)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    inputs, target = torch.randn(2, 4), torch.randn(2, 1)
    expected = 2 * (net(inputs) - target) / target.numel()
    mse_step = autograd_spec["variants"][1]["data"]
    assert mse_step["node"] == "MseLossBackward0"
    assert torch.allclose(torch.tensor(mse_step["writes"][0]["values"]), expected.detach(), rtol=1e-5)


def test_autograd_figure_highlights_the_recorded_node(autograd_spec):
    v = autograd_spec["variants"][3]
    svg = (Path(autograd_spec["folder"]) / v["figure"]).read_text(encoding="utf-8")
    assert f"{v['data']['node']} ({v['data']['param']}) runs" in svg
    assert "#fdba74" in svg  # the current node's fill


# init: the figures are the direct computation -----------------------------------------------------------


@pytest.fixture(scope="module")
def init_spec(tmp_path_factory) -> tuple[dict, Path]:
    out = runs_of("init", tmp_path_factory)[0]
    return json.loads((out / "variants.json").read_text(encoding="utf-8")), out


def direct_run(init: str, nonlinearity: str) -> tuple[torch.Tensor, list[float]]:
    """The variant computed here, without the generator's code: same seeds, the nn.init calls written out."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(256, 1024)
    torch.manual_seed(1)
    layers = [nn.Linear(1024 if i == 0 else 256, 256, bias=False) for i in range(20)]
    slope = 0.01
    with torch.no_grad():
        for layer in layers:
            w = layer.weight
            if init == "kaiming_fan_in":
                nn.init.kaiming_normal_(w, a=slope if nonlinearity == "leaky_relu" else 0, mode="fan_in", nonlinearity=nonlinearity)
            elif init == "kaiming_fan_out":
                nn.init.kaiming_normal_(w, a=slope if nonlinearity == "leaky_relu" else 0, mode="fan_out", nonlinearity=nonlinearity)
            elif init == "xavier":
                nn.init.xavier_normal_(w)
            elif init == "normal_001":
                nn.init.normal_(w, std=0.01)
        act = {"relu": torch.relu, "tanh": torch.tanh, "leaky_relu": lambda t: F.leaky_relu(t, slope)}[nonlinearity]
        h, stds = x, []
        for layer in layers:
            h = act(h @ layer.weight.T)
            stds.append(h.std().item())
    return layers[0].weight, stds


def theory_std(init: str, nonlinearity: str) -> float:
    gain = nn.init.calculate_gain(nonlinearity, 0.01 if nonlinearity == "leaky_relu" else None)
    return {"kaiming_fan_in": gain / math.sqrt(1024), "kaiming_fan_out": gain / math.sqrt(256),
            "xavier": math.sqrt(2 / (1024 + 256)), "normal_001": 0.01,
            "linear_default": 1 / math.sqrt(3 * 1024)}[init]


@pytest.mark.parametrize("init, nonlinearity", [("kaiming_fan_in", "relu"), ("kaiming_fan_out", "leaky_relu"),
                                                ("xavier", "tanh"), ("normal_001", "relu"),
                                                ("linear_default", "tanh")])
def test_init_figures_match_a_direct_computation(init_spec, init, nonlinearity):
    spec, out = init_spec
    v = next(v for v in spec["variants"] if v["params"] == {"initializer": init, "nonlinearity": nonlinearity})
    w, stds = direct_run(init, nonlinearity)
    assert v["data"]["activation_std"] == pytest.approx(stds, rel=1e-5)
    weight = v["data"]["weight"]
    assert weight["std"] == pytest.approx(w.std().item(), rel=1e-5)
    assert weight["theory_std"] == pytest.approx(theory_std(init, nonlinearity), rel=1e-5)
    assert weight["std"] == pytest.approx(weight["theory_std"], rel=0.01)  # 262,144 samples: ~0.14% error
    svg = (out / v["figure"]).read_text(encoding="utf-8")
    assert f"sampled weights, std {w.std().item():.4f}" in svg
    assert f"{stds[-1]:.3g}" in v["alt"]["en"] and f"{stds[-1]:.3g}" in v["alt"]["zh"]


def test_init_kaiming_keeps_relu_activations_and_small_std_vanishes(init_spec):
    """The point of the figure, checked on the recorded numbers: Kaiming keeps the scale through 20 ReLU
    layers, std=0.01 loses more than ten orders of magnitude."""
    spec, _ = init_spec
    by = {(v["params"]["initializer"], v["params"]["nonlinearity"]): v["data"]["activation_std"] for v in spec["variants"]}
    assert 0.3 < by["kaiming_fan_in", "relu"][-1] < 3
    assert by["normal_001", "relu"][-1] < 1e-10
