# snippet: selfcheck.py · self-checks for the exercises (from snippets/ in the repository)
# Each check prints "✓ <what>" or stops with SelfCheckError "✗ <what>: <found> ≠ <wanted>". The messages
# use only code and symbols, so they read the same in every language; the text above each exercise says
# what a ✗ means. Tensors compare by shape, dtype and values.
import torch


class SelfCheckError(AssertionError):
    """A self-check did not pass; the message shows what was found and what was wanted."""


def _show(x):
    if isinstance(x, torch.Tensor):
        return f"tensor(shape={tuple(x.shape)}, dtype={x.dtype}, values={x.detach().flatten()[:6].tolist()})"
    return repr(x)


def _fail(what, found, wanted, sign="≠"):
    raise SelfCheckError(f"✗ {what}: {_show(found)} {sign} {_show(wanted)}")


def expect_true(what, condition):
    """`what` is the condition written as code, e.g. "w.grad is None"."""
    if condition is not True:
        _fail(what, condition, True)
    print(f"✓ {what}")


def expect_equal(what, found, wanted):
    if isinstance(wanted, torch.Tensor):
        if not isinstance(found, torch.Tensor):
            _fail(f"type({what})", type(found).__name__, "Tensor")
        if found.shape != wanted.shape:
            _fail(f"{what}.shape", tuple(found.shape), tuple(wanted.shape))
        if found.dtype != wanted.dtype:
            _fail(f"{what}.dtype", found.dtype, wanted.dtype)
        if not torch.equal(found.detach().cpu(), wanted.detach().cpu()):
            _fail(what, found, wanted)
    elif found != wanted:
        _fail(what, found, wanted)
    print(f"✓ {what}")


def expect_close(what, found, wanted, rtol=1e-5, atol=1e-6):
    try:
        found_t = torch.as_tensor(found, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):  # not a number: e.g. a starter's `...` not filled in yet
        _fail(f"type({what})", type(found).__name__, "number or Tensor")
    wanted_t = torch.as_tensor(wanted, dtype=torch.float64).detach().cpu()
    if found_t.shape != wanted_t.shape:
        _fail(f"{what}.shape", tuple(found_t.shape), tuple(wanted_t.shape))
    if not torch.allclose(found_t, wanted_t, rtol=rtol, atol=atol):
        _fail(what, found, wanted, "≉")
    print(f"✓ {what}")


def expect_type(what, found, cls):
    if not isinstance(found, cls):
        _fail(f"type({what})", type(found).__name__, cls.__name__)
    print(f"✓ {what}: {cls.__name__}")
