"""Facts stated in notebooks/{zh,en}/data-batching.ipynb, checked against the installed torch."""
import collections
import inspect
import itertools
import multiprocessing
import os
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, IterableDataset, default_collate, default_convert
from torch.utils.data._utils import collate as collate_module

needs_fork = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)


def test_defaults_and_signatures():
    params = inspect.signature(DataLoader).parameters
    assert params["batch_size"].default == 1
    assert params["drop_last"].default is False
    assert params["batch_sampler"].default is None and params["collate_fn"].default is None
    assert params["in_order"].default is True
    assert list(inspect.signature(BatchSampler).parameters) == ["sampler", "batch_size", "drop_last"]
    assert all(p.default is p.empty for p in inspect.signature(BatchSampler).parameters.values())


def test_which_collate_fn_is_picked():
    assert DataLoader(range(4)).collate_fn is default_collate
    assert DataLoader(range(4), batch_size=None).collate_fn is default_convert


def test_batch_size_drop_last_and_batching_off():
    assert [b.tolist() for b in DataLoader(range(10), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert len(DataLoader(range(10), batch_size=3, drop_last=True)) == 3
    assert list(DataLoader(range(10), batch_size=None)) == list(range(10))  # plain ints, not tensors
    assert all(type(x) is int for x in DataLoader(range(3), batch_size=None))
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(range(10), batch_size=None, drop_last=True)


def test_drop_last_with_a_small_dataset_yields_nothing():
    loader = DataLoader(range(3), batch_size=5, drop_last=True)
    assert len(loader) == 0 and list(loader) == []


def test_default_collate_types():
    assert default_collate([1, 2]).dtype == torch.int64
    assert default_collate([0.5, 1.5]).dtype == torch.float64
    assert default_collate([True, False]).dtype == torch.bool
    assert default_collate(["cat", "dog"]) == ["cat", "dog"]
    assert default_collate([np.zeros((2, 2), np.float32)] * 2).shape == (2, 2, 2)
    assert default_collate([np.zeros((2, 2), np.float32)] * 2).dtype == torch.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == torch.int32
    assert default_collate([torch.zeros(3), torch.ones(3)]).shape == (2, 3)  # new leading batch dimension


def test_default_collate_structures():
    out = default_collate([(torch.zeros(3, 2, 2), 0), (torch.ones(3, 2, 2), 1)])
    assert type(out) is list and out[0].shape == (2, 3, 2, 2) and out[1].dtype == torch.int64  # tuple -> list
    Pair = collections.namedtuple("Pair", "image label")
    out = default_collate([Pair(torch.zeros(2), 0), Pair(torch.ones(2), 1)])
    assert type(out) is Pair
    out = default_collate([{"x": torch.zeros(2), "id": "a"}, {"x": torch.ones(2), "id": "b"}])
    assert list(out) == ["x", "id"] and out["id"] == ["a", "b"] and out["x"].shape == (2, 2)
    assert "Backwards compatibility" in inspect.getsource(collate_module.collate)


def test_default_convert():
    assert torch.equal(default_convert(np.arange(3)), torch.arange(3))
    assert default_convert(3) == 3 and type(default_convert(3)) is int
    assert type(default_convert(2.5)) is float and default_convert("cat") == "cat"
    out = default_convert((np.zeros(2), 1))
    assert type(out) is list and isinstance(out[0], torch.Tensor) and out[1] == 1
    strings = np.array(["a", "b"])
    assert default_convert(strings) is strings  # arrays of strings are left alone
    objects = np.array([{}, {}], dtype=object)
    assert default_convert(objects) is objects


def test_unequal_sizes_cannot_be_stacked():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([torch.ones(5), torch.ones(2)])


def test_iterable_loop_of_the_notes_raises_at_the_end():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(10))

    loader = DataLoader(Stream(), batch_size=3)
    assert type(loader.batch_sampler.sampler).__name__ == "_InfiniteConstantSampler"

    def notes(dataset, batch_sampler, collate_fn):
        dataset_iter = iter(dataset)
        for indices in batch_sampler:
            yield collate_fn([next(dataset_iter) for _ in indices])

    got = []
    with pytest.raises(RuntimeError, match="generator raised StopIteration"):
        for b in notes(Stream(), loader.batch_sampler, default_collate):
            got.append(b)  # noqa: PERF402 - the loop is the fact: iterating the sampler by hand
    assert len(got) == 3 and len(list(loader)) == 4
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


@needs_fork
def test_collate_fn_runs_in_the_workers():
    loader = DataLoader(range(4), batch_size=2, num_workers=2, multiprocessing_context="fork",
                        collate_fn=lambda batch: os.getpid())
    pids = list(loader)
    assert os.getpid() not in pids and len(set(pids)) == 2


@needs_fork
def test_persistent_workers_and_worker_init_fn():
    from torch.utils.data import get_worker_info

    class WhoAmI(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return os.getpid()

    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, multiprocessing_context="fork", persistent_workers=True)
    first, second = (set(torch.cat(list(loader)).tolist()) for _ in range(2))
    assert first == second  # the same worker processes serve both epochs

    class Tagged(torch.utils.data.Dataset):
        tag = None

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return self.tag

    def tag_replica(worker_id):  # called in each worker with its id, before loading
        assert worker_id == get_worker_info().id
        get_worker_info().dataset.tag = worker_id

    loader = DataLoader(Tagged(), batch_size=2, num_workers=2, multiprocessing_context="fork", worker_init_fn=tag_replica)
    assert [b.tolist() for b in loader] == [[0, 0], [1, 1]]


@needs_fork
def test_worker_order_in_the_figure():
    from torch.utils.data import Dataset, get_worker_info

    class WhoLoadedMe(Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            return i, get_worker_info().id

    class UnevenShards(IterableDataset):
        shards = (range(8), range(8, 10))

        def __iter__(self):
            wid = get_worker_info().id
            return ((i, wid) for i in self.shards[wid])

    def workers(dataset):
        loader = DataLoader(dataset, batch_size=2, num_workers=2, multiprocessing_context="fork")
        return [w.unique().item() for _, w in loader]

    assert workers(WhoLoadedMe()) == [0, 1, 0, 1, 0, 1]
    assert workers(UnevenShards()) == [0, 1, 0, 0, 0]
    assert list(itertools.chain.from_iterable(i.tolist() for i, _ in DataLoader(
        UnevenShards(), batch_size=2, num_workers=2, multiprocessing_context="fork"))) == [0, 1, 8, 9, 2, 3, 4, 5, 6, 7]


def test_getitems_is_called_once_per_batch():
    """data-batching cells 29-30: with batching on, the fetcher calls __getitems__(indices) once per batch."""
    class Rows(torch.utils.data.Dataset):
        def __init__(self):
            self.calls = []

        def __len__(self):
            return 6

        def __getitem__(self, i):
            self.calls.append(("item", i))
            return torch.tensor([i])

        def __getitems__(self, indices):
            self.calls.append(("items", list(indices)))
            return [torch.tensor([i]) for i in indices]

    rows = Rows()
    assert [b.shape for b in DataLoader(rows, batch_size=4)] == [(4, 1), (2, 1)]
    assert rows.calls == [("items", [0, 1, 2, 3]), ("items", [4, 5])]
    rows.calls.clear()
    list(DataLoader(rows, batch_size=None))
    assert rows.calls[:2] == [("item", 0), ("item", 1)]  # batching off: one sample at a time


def test_prebatched_iterable_with_batch_size_none():
    """data-batching cells 27-28: batch_size=None passes each yielded batch through, batch_size=1 adds a dim."""
    class Chunks(IterableDataset):
        def __iter__(self):
            yield torch.zeros(4, 2)
            yield torch.zeros(2, 2)

    assert [tuple(b.shape) for b in DataLoader(Chunks(), batch_size=None)] == [(4, 2), (2, 2)]
    assert tuple(next(iter(DataLoader(Chunks(), batch_size=1))).shape) == (1, 4, 2)


@needs_fork
def test_workers_restart_every_epoch_unless_persistent():
    """data-batching cells 31-33: without persistent_workers each epoch has new worker processes."""
    class WhoAmI(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return os.getpid()

    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, multiprocessing_context="fork")
    first, second = (set(torch.cat(list(loader)).tolist()) for _ in range(2))
    assert len(first) == len(second) == 2 and not first & second


def test_strings_get_no_new_dimension():
    """data-batching cell 19: the docs' 'always prepends a new dimension' does not hold for strings."""
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([1, 2]).shape == (2,) and default_collate([torch.zeros(3)] * 2).shape == (2, 3)
