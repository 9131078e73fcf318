"""Facts stated in notebooks/{zh,en}/init.ipynb, checked against the installed torch."""
import inspect
import math
import typing

import pytest
import torch
from torch import nn


def test_kaiming_normal_signature():
    params = inspect.signature(nn.init.kaiming_normal_).parameters
    assert list(params) == ["tensor", "a", "mode", "nonlinearity", "generator"]
    assert params["a"].default == 0
    assert params["mode"].default == "fan_in"
    assert params["nonlinearity"].default == "leaky_relu"
    assert params["generator"].default is None
    assert set(typing.get_args(params["mode"].annotation)) == {"fan_in", "fan_out"}
    assert {"relu", "leaky_relu"} <= set(typing.get_args(params["nonlinearity"].annotation))


def test_other_signatures():
    assert list(inspect.signature(nn.init.zeros_).parameters) == ["tensor"]
    assert list(inspect.signature(nn.init.ones_).parameters) == ["tensor"]
    assert list(inspect.signature(nn.init.constant_).parameters) == ["tensor", "val"]


def test_gains():
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    for a in [0.0, 0.01, 0.2, 1.0]:
        assert nn.init.calculate_gain("leaky_relu", a) == pytest.approx(math.sqrt(2 / (1 + a * a)))
    assert nn.init.calculate_gain("leaky_relu", 1.0) == pytest.approx(1.0)
    # without a slope, calculate_gain assumes 0.01 (nn.LeakyReLU's default)
    assert nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert nn.LeakyReLU().negative_slope == 0.01


def test_default_nonlinearity_equals_relu():
    w1 = nn.init.kaiming_normal_(torch.empty(8, 8), generator=torch.Generator().manual_seed(3))
    w2 = nn.init.kaiming_normal_(torch.empty(8, 8), nonlinearity="relu", generator=torch.Generator().manual_seed(3))
    assert torch.equal(w1, w2)


def test_fans():
    fans = nn.init._calculate_fan_in_and_fan_out
    assert nn.Linear(300, 100).weight.shape == (100, 300)
    assert fans(nn.Linear(300, 100).weight) == (300, 100)
    assert nn.Conv2d(16, 32, 3).weight.shape == (32, 16, 3, 3)
    assert fans(nn.Conv2d(16, 32, 3).weight) == (16 * 9, 32 * 9)


@pytest.mark.parametrize("mode,fan", [("fan_in", 1024), ("fan_out", 256)])
def test_kaiming_normal_std(mode, fan):
    w = nn.init.kaiming_normal_(torch.empty(256, 1024), mode=mode, nonlinearity="relu",
                                generator=torch.Generator().manual_seed(0))
    assert w.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert w.std().item() == pytest.approx(math.sqrt(2) / math.sqrt(fan), rel=0.01)


def test_in_place_on_parameters_under_no_grad():
    w = torch.empty(3, 5)
    assert nn.init.kaiming_normal_(w) is w
    p = nn.Parameter(torch.empty(3, 5))
    out = nn.init.kaiming_normal_(p)
    assert out is p and p.requires_grad and p.grad_fn is None
    assert nn.init.zeros_(p) is p and p.requires_grad


def test_constant_fills():
    w = torch.empty(3, 5)
    assert torch.equal(nn.init.zeros_(w), torch.zeros(3, 5))
    assert torch.equal(nn.init.ones_(w), torch.ones(3, 5))
    assert torch.equal(nn.init.constant_(w, 0.5), torch.full((3, 5), 0.5))


def test_one_dimensional_raises():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.kaiming_normal_(torch.empty(5))


def test_transposed_view_is_filled_in_place():
    W = torch.empty(1024, 64)
    nn.init.kaiming_normal_(W.T, nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    assert W.std().item() == pytest.approx(math.sqrt(2 / 1024), rel=0.02)


def test_linear_and_conv_default_init_is_kaiming_uniform_sqrt5():
    assert "init.kaiming_uniform_(self.weight, a=math.sqrt(5))" in inspect.getsource(nn.Linear.reset_parameters)
    assert "init.kaiming_uniform_(self.weight, a=math.sqrt(5))" in inspect.getsource(
        nn.modules.conv._ConvNd.reset_parameters)
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert gain == pytest.approx(math.sqrt(1 / 3))
    for layer, fan_in in [(nn.Linear(1024, 512), 1024), (nn.Conv2d(64, 128, 3), 64 * 9)]:
        w = layer.weight.detach()
        bound = 1 / math.sqrt(fan_in)
        assert gain * math.sqrt(3 / fan_in) == pytest.approx(bound)
        assert w.abs().max().item() <= bound
        assert w.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.02)
    # sqrt(6) smaller than kaiming_normal_ for relu
    assert math.sqrt(2 / 1024) / (1 / math.sqrt(3 * 1024)) == pytest.approx(math.sqrt(6))


def test_normal_mass_beyond_sqrt3_sigma():
    assert math.erfc(math.sqrt(3) / math.sqrt(2)) == pytest.approx(0.083, abs=0.001)


def test_relu_of_variance_two_normal_has_std_sqrt_1_minus_1_over_pi():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(2_000_000, generator=g, dtype=torch.float64) * math.sqrt(2)
    assert torch.relu(y).std().item() == pytest.approx(math.sqrt(1 - 1 / math.pi), rel=0.005)


def test_float32_max():
    assert torch.finfo(torch.float32).max == pytest.approx(3.4e38, rel=0.01)


def test_init_names_and_deprecated_aliases():
    """init cells 4 and 7: the filling functions end in `_`; calculate_gain and the deprecated aliases do not."""
    import warnings
    own = {n for n in dir(nn.init) if not n.startswith("_")
           and getattr(getattr(nn.init, n), "__module__", "") == "torch.nn.init"}
    bare = {n for n in own if not n.endswith("_")}
    assert "calculate_gain" in bare and {"normal", "uniform", "kaiming_normal", "xavier_normal"} <= bare
    for name in bare - {"calculate_gain"}:
        assert name + "_" in own  # an alias of the in-place function
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.init.normal(torch.empty(2, 2))
    assert "deprecated" in str(caught[0].message)


def test_kaiming_docstring_says_weights():
    """init cell 8: the docstring's slip ("variance of the weights") that the notes copied; the page names it."""
    for fn in (nn.init.kaiming_normal_, nn.init.kaiming_uniform_):
        assert "preserves the magnitude of the variance of the weights in the forward pass" in " ".join(fn.__doc__.split())


def test_constant_weights_keep_identical_rows():
    """init cells 19-21: a constant weight keeps identical rows through training; zeros give no gradient."""
    def train(fill):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
        for layer in (net[0], net[2]):
            fill(layer.weight)
            nn.init.zeros_(layer.bias)
        x = torch.randn(64, 4)
        y = torch.sin(x.sum(dim=1, keepdim=True))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        grads = []
        for _ in range(50):
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            grads.append(net[0].weight.grad.clone())
            opt.step()
        return net[0].weight.detach(), grads[0]

    w, g = train(nn.init.zeros_)
    assert torch.equal(g, torch.zeros_like(g)) and torch.equal(w, torch.zeros_like(w))
    w, g = train(lambda t: nn.init.constant_(t, 0.5))
    assert g.abs().sum() > 0 and bool((g == g[0]).all()) and bool((w == w[0]).all())
    w, g = train(nn.init.xavier_normal_)
    assert not bool((w == w[0]).all())


def test_xavier_normal_std():
    """init cell 21: std = gain * sqrt(2 / (fan_in + fan_out)), gain 1 by default."""
    assert inspect.signature(nn.init.xavier_normal_).parameters["gain"].default == 1.0
    w = nn.init.xavier_normal_(torch.empty(256, 1024), generator=torch.Generator().manual_seed(0))
    assert w.std().item() == pytest.approx(math.sqrt(2 / (1024 + 256)), rel=0.01)
