"""Facts stated in the prose of notebooks/*/upsample.ipynb that the notebook does not print live."""
import inspect
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F


def test_defaults_and_parameters():
    sig = inspect.signature(nn.Upsample)
    assert sig.parameters["mode"].default == "nearest"
    assert sig.parameters["align_corners"].default is None
    assert "antialias" not in sig.parameters and "antialias" in inspect.signature(F.interpolate).parameters
    assert list(nn.Upsample(scale_factor=2).parameters()) == []


@pytest.mark.parametrize("length, factor", [(5, 1.5), (5, 2.0), (7, 2.6), (3, 8.0)])
def test_output_length_is_floor_of_input_times_factor(length, factor):
    out = nn.Upsample(scale_factor=factor)(torch.rand(1, 1, length))
    assert out.shape[-1] == math.floor(length * factor)


def reference_linear(x, out_len, align_corners):
    """1-D linear interpolation with the source coordinates given in the prose."""
    n = x.numel()
    res = []
    for i in range(out_len):
        if align_corners:
            src = i * (n - 1) / (out_len - 1)
        else:
            src = min(max((i + 0.5) * n / out_len - 0.5, 0.0), n - 1)
        lo = min(math.floor(src), n - 1)
        hi = min(lo + 1, n - 1)
        w = src - lo
        res.append((1 - w) * x[lo].item() + w * x[hi].item())
    return torch.tensor(res)


@pytest.mark.parametrize("n, out_len", [(3, 6), (4, 11), (6, 48), (7, 3)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_linear_source_coordinates(n, out_len, align_corners):
    torch.manual_seed(0)
    x = torch.rand(n, dtype=torch.float64)
    got = F.interpolate(x[None, None], size=out_len, mode="linear", align_corners=align_corners)[0, 0]
    assert torch.allclose(got, reference_linear(x, out_len, align_corners).double(), atol=1e-12)


@pytest.mark.parametrize("n, out_len", [(3, 5), (4, 7), (5, 13), (6, 4)])
def test_nearest_and_nearest_exact_indices(n, out_len):
    x = torch.arange(float(n))[None, None]
    s = n / out_len
    nearest = [min(math.floor(i * s), n - 1) for i in range(out_len)]
    exact = [min(math.floor((i + 0.5) * s), n - 1) for i in range(out_len)]
    assert F.interpolate(x, size=out_len, mode="nearest")[0, 0].tolist() == nearest
    assert F.interpolate(x, size=out_len, mode="nearest-exact")[0, 0].tolist() == exact


@pytest.mark.parametrize("factor", [2, 3, 8])
def test_nearest_variants_agree_on_integer_factors(factor):
    x = torch.rand(1, 2, 5, 6)
    assert torch.equal(F.interpolate(x, scale_factor=factor, mode="nearest"),
                       F.interpolate(x, scale_factor=factor, mode="nearest-exact"))


def test_end_values_kept_by_align_corners_true_and_by_false_only_when_enlarging():
    x = torch.rand(1, 1, 6, dtype=torch.float64)

    def ends(t: torch.Tensor) -> tuple[float, float]:
        return t[0, 0, 0].item(), t[0, 0, -1].item()

    for size in (3, 4, 11, 48):
        assert ends(F.interpolate(x, size=size, mode="linear", align_corners=True)) == pytest.approx(ends(x))
    for size in (7, 11, 48):       # enlarging: the clamping keeps the ends
        assert ends(F.interpolate(x, size=size, mode="linear", align_corners=False)) == pytest.approx(ends(x))
    shrunk = F.interpolate(x, size=3, mode="linear", align_corners=False)
    assert ends(shrunk) != pytest.approx(ends(x))


def test_align_corners_none_means_false_for_interpolating_modes():
    x = torch.rand(1, 1, 4, 5)
    for mode in ("bilinear", "bicubic"):
        assert torch.equal(F.interpolate(x, scale_factor=2, mode=mode),
                           F.interpolate(x, scale_factor=2, mode=mode, align_corners=False))


def test_bicubic_overshoots():
    x = torch.zeros(1, 1, 6, 6)
    x[..., 2:4, 2:4] = 1.0
    y = F.interpolate(x, scale_factor=4, mode="bicubic")
    assert y.min() < 0 and y.max() > 1


def test_area_works_through_nn_upsample():
    assert nn.Upsample(scale_factor=2, mode="area")(torch.rand(1, 1, 4)).shape == (1, 1, 8)


def test_documentation_statements():
    assert "If you want downsampling/general resizing, you should use" in nn.Upsample.__doc__
    for cls, mode in ((nn.UpsamplingNearest2d, "nearest"), (nn.UpsamplingBilinear2d, "bilinear")):
        assert "deprecated in favor of" in cls.__doc__
        assert issubclass(cls, nn.Upsample) and cls(scale_factor=2).mode == mode
    assert nn.UpsamplingBilinear2d(scale_factor=2).align_corners is True
    doc = F.interpolate.__doc__
    assert "`lanczos` (4D-only, CPU only)" in doc and "requires\n        ``antialias=True``" in doc
    # the docstring of nn.Upsample lists five modes (no nearest-exact, area or lanczos)
    assert "'nearest-exact'" not in nn.Upsample.__doc__ and "lanczos" not in nn.Upsample.__doc__


def test_lanczos_only_on_4d():
    with pytest.raises((NotImplementedError, ValueError)):
        F.interpolate(torch.rand(1, 1, 6), scale_factor=2, mode="lanczos", antialias=True)


def test_scale_factor_is_used_directly_unless_recomputed():
    x = torch.arange(5.0, dtype=torch.float64)[None, None]
    n, out_len, factor = 5, 7, 1.5                     # floor(5 * 1.5) = 7

    def linear_at(s):
        src = [min(max((i + 0.5) * s - 0.5, 0.0), n - 1) for i in range(out_len)]
        return torch.tensor(src, dtype=torch.float64)  # x[k] = k, so values == coordinates

    direct = F.interpolate(x, scale_factor=factor, mode="linear")[0, 0]
    recomputed = F.interpolate(x, scale_factor=factor, mode="linear", recompute_scale_factor=True)[0, 0]
    assert torch.allclose(direct, linear_at(1 / factor))
    assert torch.allclose(recomputed, linear_at(n / out_len))
    assert not torch.allclose(direct, recomputed)
    nearest = F.interpolate(x, scale_factor=factor, mode="nearest")[0, 0]
    assert nearest.tolist() == [math.floor(i / factor) for i in range(out_len)]
