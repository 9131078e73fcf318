"""Facts stated in notebooks/{zh,en}/data-pinning.ipynb, checked against the installed torch."""
import inspect
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data import dataloader as dataloader_module
from torch.utils.data._utils import pin_memory as pin_utils

HAS_ACCELERATOR = torch.accelerator.is_available()


def test_dataloader_parameters():
    params = inspect.signature(DataLoader).parameters
    assert params["pin_memory"].default is False
    assert params["pin_memory_device"].default == ""
    assert params["pin_memory_device"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "pin_memory_device (str, optional): Deprecated" in inspect.getdoc(DataLoader)


def test_tensor_docs_mention_the_current_accelerator():
    for method in (torch.Tensor.pin_memory, torch.Tensor.is_pinned):
        assert "current :ref:`accelerator<accelerators>`" in inspect.getdoc(method)


def test_pinning_rules_of_the_dataloader():
    class WithMethod:
        def pin_memory(self):
            return "pinned result"

    class ForgetsToReturn:
        def pin_memory(self):
            pass

    class Plain:
        pass

    assert pin_utils.pin_memory(WithMethod()) == "pinned result"  # the method's return value is used
    assert pin_utils.pin_memory(ForgetsToReturn()) is None  # forgetting `return self` gives None
    plain = Plain()
    assert pin_utils.pin_memory(plain) is plain  # unknown types come back unchanged
    assert pin_utils.pin_memory("text") == "text"


def test_pinning_runs_in_a_thread_with_workers():
    src = inspect.getsource(dataloader_module._MultiProcessingDataLoaderIter.__init__)
    assert "threading.Thread" in src and "_pin_memory_loop" in src


def test_to_same_device_returns_the_same_tensor():
    x = torch.ones(4)
    assert x.to(torch.device("cpu"), non_blocking=True) is x


@pytest.mark.skipif(HAS_ACCELERATOR, reason="behaviour without an accelerator")
def test_without_accelerator_dataloader_warns_and_skips_pinning():
    dataset = TensorDataset(torch.randn(8, 3), torch.arange(8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inp, tgt = next(iter(DataLoader(dataset, batch_size=4, pin_memory=True)))
    assert not inp.is_pinned() and not tgt.is_pinned()
    assert [w.category for w in caught] == [UserWarning]
    assert "'pin_memory' argument is set as true but no accelerator is found" in str(caught[0].message)


@pytest.mark.skipif(HAS_ACCELERATOR, reason="behaviour without an accelerator")
def test_without_accelerator_tensor_pin_memory_raises():
    with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
        torch.arange(6.0).pin_memory()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_with_a_gpu_batches_and_custom_types_are_pinned():
    class Custom:
        def __init__(self, data):
            self.inp = torch.stack([d[0] for d in data])

        def pin_memory(self):
            self.inp = self.inp.pin_memory()
            return self

    class Plain:
        def __init__(self, data):
            self.inp = torch.stack([d[0] for d in data])

    dataset = TensorDataset(torch.randn(4, 3), torch.arange(4))
    inp, _ = next(iter(DataLoader(dataset, batch_size=2, pin_memory=True)))
    assert inp.is_pinned()
    assert next(iter(DataLoader(dataset, batch_size=2, pin_memory=True, collate_fn=Custom))).inp.is_pinned()
    assert not next(iter(DataLoader(dataset, batch_size=2, pin_memory=True, collate_fn=Plain))).inp.is_pinned()
    t = torch.arange(6.0)
    p = t.pin_memory()
    assert p.is_pinned() and not t.is_pinned() and p.data_ptr() != t.data_ptr()


def test_without_workers_pinning_happens_in_the_main_loop():
    """data-pinning cell 25: with num_workers=0 the single-process iterator pins right after fetching."""
    src = inspect.getsource(dataloader_module._SingleProcessDataLoaderIter._next_data)
    assert "pin_memory" in src and "Thread" not in src
