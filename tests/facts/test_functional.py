"""Facts stated in notebooks/*/functional.ipynb that the notebook does not print live."""
import inspect
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F


def test_modules_delegate_to_functions():
    # "the modules in torch.nn call exactly these functions inside their forward"
    assert "F.relu(" in inspect.getsource(nn.ReLU.forward)
    assert "F.linear(" in inspect.getsource(nn.Linear.forward)
    assert "F.conv2d(" in inspect.getsource(nn.Conv2d._conv_forward)


def test_newer_functions_present():
    for name in ["scaled_dot_product_attention", "rms_norm", "grouped_mm", "scaled_mm",
                 "scaled_grouped_mm", "linear_cross_entropy"]:
        assert callable(getattr(F, name)), name


def test_dropout_and_norm_families_present():
    for name in ["dropout", "alpha_dropout", "dropout2d", "dropout3d", "batch_norm", "layer_norm",
                 "instance_norm", "group_norm"]:
        assert callable(getattr(F, name)), name


def test_assert_int_or_pair_is_an_uncalled_check():
    src = inspect.getsource(F)
    assert src.count("assert_int_or_pair(") == 1  # the definition only: nothing in functional.py calls it
    assert F.assert_int_or_pair.__doc__ is None
    F.assert_int_or_pair(3, "k", "{} bad")
    F.assert_int_or_pair([3, 3], "k", "{} bad")
    with pytest.raises(AssertionError):
        F.assert_int_or_pair([1, 2, 3], "k", "{} bad")


def test_data_parallel_lives_in_parallel():
    assert not hasattr(F, "data_parallel")
    import torch.nn.parallel
    assert callable(torch.nn.parallel.data_parallel)


@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_upsample_family_deprecated(name):
    kwargs = {"scale_factor": 2}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(F, name)(torch.randn(1, 1, 2, 2), **kwargs)
    assert any("deprecated" in str(w.message) and "interpolate" in str(w.message) for w in caught)


def test_softmax_without_dim_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.softmax(torch.randn(2, 3))
    assert any("Implicit dimension" in str(w.message) for w in caught)


def test_sdpa_has_fused_backends():
    # "picks a fused implementation (such as FlashAttention)"
    assert hasattr(torch.backends.cuda, "flash_sdp_enabled")
    assert hasattr(torch.nn.attention, "SDPBackend")
    assert hasattr(torch.nn.attention.SDPBackend, "FLASH_ATTENTION")


def test_not_every_function_is_differentiable():
    """functional cell 3: integer results and index inputs carry no gradient."""
    x = torch.tensor([0, 2])
    assert F.one_hot(x, 3).dtype == torch.int64 and F.one_hot(x, 3).grad_fn is None
    w = torch.randn(3, 2, requires_grad=True)
    out = F.embedding(x, w)
    assert out.grad_fn is not None and not x.is_floating_point()
    out.sum().backward()
    assert w.grad is not None
    x_float = torch.tensor([0.0, 2.0], requires_grad=True)
    with pytest.raises((RuntimeError, TypeError)):
        F.embedding(x_float, w)  # indices must be integers, so they cannot require a gradient
