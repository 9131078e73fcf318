"""Facts stated in notebooks/*/module-call.ipynb that the notebook does not print live."""
import inspect

import torch
import torch.nn as nn
from torch.nn.modules import module as module_mod


def test_call_is_wrapped_call_impl_and_routes_to_compiled():
    assert nn.Module.__call__ is nn.Module._wrapped_call_impl
    m = nn.Identity()
    assert m._compiled_call_impl is None
    m._compiled_call_impl = lambda *args, **kwargs: "compiled"
    assert m(torch.zeros(1)) == "compiled"
    assert "_compiled_call_impl" in inspect.getsource(nn.Module.compile)  # Module.compile sets it


def test_forward_hook_keyword_only_arguments():
    params = inspect.signature(nn.Module.register_forward_hook).parameters
    for name in ("prepend", "with_kwargs", "always_call"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default is False


def test_register_backward_hook_documented_deprecated():
    doc = nn.Module.register_backward_hook.__doc__
    assert "deprecated" in doc and "register_full_backward_hook" in doc


def test_global_hook_is_for_debugging():
    doc = module_mod.register_module_forward_hook.__doc__
    assert "debugging/profiling" in doc


def test_pre_hook_single_value_is_wrapped():
    seen = []

    class Show(nn.Module):
        def forward(self, *args):
            seen.append(args)
            return args[0]

    m = Show()
    m.register_forward_pre_hook(lambda module, args: args[0] + 1)
    m(torch.zeros(1))
    assert isinstance(seen[0], tuple) and torch.equal(seen[0][0], torch.ones(1))


def test_forward_skips_all_hooks_but_not_gradients():
    lin = nn.Linear(3, 2)
    fired = []
    lin.register_forward_pre_hook(lambda *a: fired.append("pre"))
    lin.register_forward_hook(lambda *a: fired.append("fwd"))
    lin.register_full_backward_hook(lambda *a: fired.append("bwd"))
    x = torch.randn(4, 3, requires_grad=True)
    lin.forward(x).sum().backward()
    assert fired == []
    g = lin.weight.grad.clone()
    lin.zero_grad()
    lin(x).sum().backward()
    assert fired == ["pre", "fwd", "bwd"]
    assert torch.equal(g, lin.weight.grad)


def test_children_report_before_container():
    order = []
    net = nn.Sequential(nn.Identity(), nn.ReLU())
    handle = module_mod.register_module_forward_hook(lambda m, a, o: order.append(type(m).__name__))
    try:
        net(torch.zeros(1))
    finally:
        handle.remove()
    assert order == ["Identity", "ReLU", "Sequential"]


def test_pruning_is_a_forward_pre_hook():
    import torch.nn.utils.prune as prune

    lin = nn.Linear(4, 4)
    assert not lin._forward_pre_hooks
    prune.random_unstructured(lin, name="weight", amount=0.5)
    hooks = list(lin._forward_pre_hooks.values())
    assert any(isinstance(h, prune.BasePruningMethod) for h in hooks)


def test_torch_compile_returns_a_wrapper_and_module_compile_sets_the_hook():
    """module-call cells 3, 5 and 27: only nn.Module.compile() sets _compiled_call_impl; torch.compile(m)
    returns a separate OptimizedModule and leaves m as it was (both are lazy: nothing compiles here)."""
    m = nn.Linear(2, 2)
    wrapped = torch.compile(m)
    assert wrapped is not m and type(wrapped).__name__ == "OptimizedModule"
    assert m._compiled_call_impl is None and type(m) is nn.Linear
    m.compile()
    assert m._compiled_call_impl is not None and type(m) is nn.Linear
