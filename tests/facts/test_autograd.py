"""Facts stated in the prose of notebooks/*/autograd.ipynb that the notebook does not print live."""
import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F


def small_model_loss(inputs_require_grad=False):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    inputs = torch.randn(2, 4, requires_grad=inputs_require_grad)
    return model, inputs, F.mse_loss(model(inputs), torch.randn(2, 1))


def test_grad_fn_is_a_graph_node():
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    assert isinstance(y.grad_fn, torch.autograd.graph.Node)
    assert isinstance(y.grad_fn.next_functions[0][0], torch.autograd.graph.Node)


def test_parameters_are_leaves_with_accumulate_grad():
    model, _, loss = small_model_loss()
    for p in model.parameters():
        assert p.is_leaf and p.grad_fn is None
    last_bias = loss.grad_fn.next_functions[0][0].next_functions[0][0]
    assert type(last_bias).__name__ == "AccumulateGrad"
    assert last_bias.variable is model[2].bias


def test_retain_graph_defaults_to_create_graph():
    sig = inspect.signature(torch.Tensor.backward)
    assert sig.parameters["retain_graph"].default is None
    assert sig.parameters["create_graph"].default is False
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    torch.autograd.grad(y, x, create_graph=True)   # retain_graph=None -> follows create_graph=True
    torch.autograd.grad(y, x)                       # so a second pass is allowed
    z = (x.exp() * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = torch.autograd.grad((x * x).sum(), x)
    assert torch.equal(g, 2 * x.detach())
    assert x.grad is None


def test_zero_grad_defaults_set_to_none():
    assert inspect.signature(nn.Module.zero_grad).parameters["set_to_none"].default is True
    assert inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default is True


def test_linear_on_2d_input_is_addmm_plus_transpose():
    _, _, loss = small_model_loss()
    addmm = loss.grad_fn.next_functions[0][0]
    assert type(addmm).__name__ == "AddmmBackward0"
    kinds = [type(fn).__name__ for fn, _ in addmm.next_functions]
    assert kinds == ["AccumulateGrad", "ReluBackward0", "TBackward0"]


def test_saved_tensors_match_the_figure_description():
    _, inputs, loss = small_model_loss()
    relu = loss.grad_fn.next_functions[0][0].next_functions[1][0]
    first = relu.next_functions[0][0]
    assert type(relu).__name__ == "ReluBackward0"
    assert isinstance(relu._saved_result, torch.Tensor)
    assert first._saved_mat1.shape == inputs.shape
    assert first._saved_mat2 is None            # W1^T only needed for d(loss)/d(inputs)
    # ...and it is saved once the inputs do need a gradient
    _, inputs, loss = small_model_loss(inputs_require_grad=True)
    first = loss.grad_fn.next_functions[0][0].next_functions[1][0].next_functions[0][0]
    assert isinstance(first._saved_mat2, torch.Tensor)


def test_exp_saves_its_result():
    b = torch.ones(3, requires_grad=True).exp()
    assert type(b.grad_fn).__name__ == "ExpBackward0"
    assert hasattr(b.grad_fn, "_saved_result")


def test_variable_is_a_legacy_alias_for_tensor():
    from torch.autograd import Variable

    v = Variable(torch.ones(2), requires_grad=True)
    assert type(v) is torch.Tensor and v.requires_grad


def test_inference_mode_exists_and_records_nothing():
    w = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        out = w * 2
    assert not out.requires_grad and out.grad_fn is None


def test_non_differentiable_operations_record_nothing():
    """autograd cell 3: only differentiable operations add a node; comparisons, argmax, integer casts do not."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert (x * 2).grad_fn is not None
    for t in (x > 1, x.argmax(), x.long(), x.detach()):
        assert t.grad_fn is None and not t.requires_grad


def test_inference_tensors_cannot_be_saved_for_backward():
    """autograd cells 23-24: an inference_mode result breaks later autograd, a no_grad result does not."""
    lin = torch.nn.Linear(4, 1)
    inputs = torch.randn(2, 4)
    with torch.inference_mode():
        x_inf = inputs * 1
    with torch.no_grad():
        x_ng = inputs * 1
    assert x_inf.is_inference() and not x_ng.is_inference()
    lin(x_ng).sum().backward()
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        lin(x_inf).sum().backward()


def test_second_derivative_with_create_graph():
    """autograd cells 27-28: create_graph=True makes the derivative differentiable again."""
    x = torch.tensor(2.0, requires_grad=True)
    (dy,) = torch.autograd.grad(x**3, x, create_graph=True)
    (d2y,) = torch.autograd.grad(dy, x)
    assert dy.item() == 12.0 and d2y.item() == 12.0 and x.grad is None
    (dy,) = torch.autograd.grad(x**3, x)
    assert dy.grad_fn is None  # without create_graph the result is a constant


def test_backward_of_a_vector_is_a_vector_jacobian_product():
    """autograd cells 31-32: y.backward(v) gives v^T J."""
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = torch.tensor([1.0, -1.0], requires_grad=True)
    v = torch.tensor([1.0, 0.0, -1.0])
    (A @ x).backward(v)
    assert torch.equal(x.grad, v @ A)
