"""Facts stated in notebooks/{zh,en}/parameter.ipynb, checked against the installed torch."""
import inspect

import pytest
import torch
from torch import nn


def test_signature_and_alias():
    assert nn.Parameter is torch.nn.parameter.Parameter
    params = inspect.signature(nn.Parameter.__new__).parameters
    assert list(params) == ["cls", "data", "requires_grad"]
    assert params["data"].default is None
    assert params["requires_grad"].default is True


def test_no_data_gives_empty_tensor():
    p = nn.Parameter()
    assert p.shape == (0,) and p.requires_grad


def test_mro_and_tensorbase_rename():
    assert nn.Parameter.__mro__ == (nn.Parameter, torch.Tensor, torch._C.TensorBase, object)
    assert torch._C.TensorBase.__name__ == "TensorBase"
    # the old name of the notes survives only as an alias of the same object
    assert torch._C._TensorBase is torch._C.TensorBase


def test_metaclasses():
    meta = type(nn.Parameter)
    assert meta is torch.nn.parameter._ParameterMeta
    assert meta.__mro__ == (meta, torch._C._TensorMeta, type, object)
    assert type(torch.Tensor) is torch._C._TensorMeta
    assert type(torch._C.TensorBase) is torch._C._TensorMeta
    # metaclasses are not base classes
    assert torch._C._TensorMeta not in nn.Parameter.__mro__
    assert type not in nn.Parameter.__mro__


def test_is_param_flag_makes_isinstance_true():
    class MyTensor(torch.Tensor):
        pass

    p = nn.Parameter(torch.randn(2).as_subclass(MyTensor))
    assert type(p) is MyTensor
    assert getattr(p, "_is_param", False)
    assert isinstance(p, nn.Parameter)


def test_parameter_registered_plain_tensor_not():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(2))
            self.state = torch.zeros(2)

    m = M()
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w"]


def test_requires_grad_default_and_no_grad():
    t = torch.randn(2)
    assert nn.Parameter(t).requires_grad is True
    assert nn.Parameter(t, requires_grad=False).requires_grad is False
    with torch.no_grad():
        assert nn.Parameter(t).requires_grad is True


def test_grad_flows_and_accumulates():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    c = nn.Parameter(torch.tensor([3.0, 3.0]), requires_grad=False)
    x = torch.tensor([0.5, -1.0])
    (w * x + c).sum().backward()
    assert torch.equal(w.grad, x) and c.grad is None
    (w * x + c).sum().backward()
    assert torch.equal(w.grad, 2 * x)  # .grad accumulates


def test_buffers_state_dict_and_conversion():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(3))
            self.register_buffer("running_mean", torch.zeros(3))
            self.register_buffer("scratch", torch.zeros(3), persistent=False)
            self.plain = torch.zeros(3)

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "scratch"]
    assert list(m.state_dict()) == ["gain", "running_mean"]
    gain_obj = m.gain
    m.double()
    assert m.gain.dtype == m.running_mean.dtype == m.scratch.dtype == torch.float64
    assert m.plain.dtype == torch.float32  # plain attributes are not converted/moved
    assert m.gain is gain_obj and isinstance(m.gain, nn.Parameter) and m.gain.is_leaf


def test_batchnorm_parameters_and_buffers():
    bn = nn.BatchNorm1d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_assigning_tensor_to_parameter_attribute():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"torch\.nn\.Parameter or None expected"):
        lin.weight = torch.zeros(2, 2)
    held = list(lin.parameters())  # what an optimizer keeps in its param_groups
    old = lin.weight
    with torch.no_grad():
        lin.weight.copy_(torch.zeros(2, 2))
    assert lin.weight is old  # copy_ keeps the object the optimizer holds
    lin.weight = nn.Parameter(torch.ones(2, 2))
    assert not any(p is lin.weight for p in held)
    assert any(p is old for p in held)
    lin.weight = None  # None is allowed too
    assert [n for n, _ in lin.named_parameters()] == ["bias"]


def test_plain_list_not_registered():
    class WithList(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = [nn.Parameter(torch.randn(2))]
            self.mods = [nn.Linear(2, 2)]

    class WithContainers(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(torch.randn(2))])
            self.wd = nn.ParameterDict({"a": nn.Parameter(torch.randn(2))})
            self.mods = nn.ModuleList([nn.Linear(2, 2)])

    assert list(WithList().parameters()) == [] and list(WithList().state_dict()) == []
    assert [n for n, _ in WithContainers().named_parameters()] == ["ws.0", "wd.a", "mods.0.weight", "mods.0.bias"]


def test_operations_return_plain_tensors():
    p = nn.Parameter(torch.randn(3))
    assert type(p * 2) is torch.Tensor
    q = p.to(torch.float64)
    assert type(q) is torch.Tensor and not q.is_leaf
    assert type(p.detach()) is torch.Tensor
    assert p.to(p.device) is p  # no conversion needed: .to() returns the same object

    class Oops(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(3)).to(torch.float64)
            self.v = nn.Parameter(torch.randn(3, dtype=torch.float64))

    assert [n for n, _ in Oops().named_parameters()] == ["v"]


def test_parameter_shares_memory():
    t = torch.zeros(3)
    p = nn.Parameter(t)
    t[0] = 7.0
    assert p[0].item() == 7.0 and p.data_ptr() == t.data_ptr()
    assert nn.Parameter(t.clone()).data_ptr() != t.data_ptr()
