"""Facts stated in notebooks/*/nn-vs-functional.ipynb that the notebook does not print live."""
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F


def test_old_style_super_still_works():
    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 3)

    class NewStyle(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 6, 3)

    old, new = MyModel(), NewStyle()
    assert [n for n, _ in old.named_parameters()] == [n for n, _ in new.named_parameters()]
    assert isinstance(old.conv, nn.Conv2d)


def test_functional_conv2d_is_lowercase():
    assert not hasattr(F, "Conv2d")
    assert callable(F.conv2d)
    assert inspect.isclass(nn.Conv2d)


def test_variable_returns_plain_tensor():
    v = torch.autograd.Variable(torch.ones(2), requires_grad=True)
    assert type(v) is torch.Tensor
    assert v.requires_grad


def test_relu_module_has_no_parameters():
    assert list(nn.ReLU().parameters()) == []


def test_local_temporary_conv_is_not_a_child():
    class ConvFunctional(nn.Module):
        def __init__(self):
            super().__init__()
            conv = nn.Conv2d(1, 6, 3)
            self.weight = conv.weight
            self.bias = conv.bias

    m = ConvFunctional()
    assert list(m.children()) == []
    assert isinstance(m.weight, nn.Parameter)


def test_plain_tensor_attribute_not_converted_by_to():
    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.randn(2)
            self.bias = nn.Parameter(torch.zeros(2))

    m = Plain().to(torch.float64)
    assert m.weight.dtype == torch.float32
    assert m.bias.dtype == torch.float64


def test_dropout_module_follows_mode():
    d = nn.Dropout(0.5)
    d.eval()
    x = torch.ones(100)
    assert torch.equal(d(x), x)
    assert inspect.signature(F.dropout).parameters["training"].default is True


def test_sequential_rejects_functions():
    try:
        nn.Sequential(F.relu)
    except TypeError as err:
        assert "not a Module subclass" in str(err)
    else:
        raise AssertionError("nn.Sequential accepted a function")
