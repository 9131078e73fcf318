"""Facts stated in notebooks/{zh,en}/data-datasets.ipynb, checked against the installed torch."""
import collections
import inspect
import itertools
import multiprocessing
import sys

import pytest
import torch
import torch.utils.data as tud
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    get_worker_info,
)

needs_fork = pytest.mark.skipif(
    sys.platform == "win32" or "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(range(self.n))


def test_signature_against_the_notes():
    params = inspect.signature(DataLoader).parameters
    assert len(params) == 17
    assert {"multiprocessing_context", "generator", "pin_memory_device", "in_order"} <= set(params)
    assert params["shuffle"].default is None  # the notes: False
    assert params["prefetch_factor"].default is None  # the notes: 2
    kw_only = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    assert kw_only == {"prefetch_factor", "persistent_workers", "pin_memory_device", "in_order"}
    unchanged = {"batch_size": 1, "sampler": None, "batch_sampler": None, "num_workers": 0, "collate_fn": None,
                 "pin_memory": False, "drop_last": False, "timeout": 0, "worker_init_fn": None, "persistent_workers": False}
    assert {n: params[n].default for n in unchanged} == unchanged


def test_docstring_entries_quoted_on_the_page():
    doc = " ".join(inspect.getdoc(DataLoader).split())
    assert "reshuffled at every epoch (default: ``False``)" in doc  # shuffle's doc still says False
    assert "pin_memory_device (str, optional): Deprecated" in doc
    assert "Only applies when ``num_workers > 0``" in doc  # in_order
    assert "used by RandomSampler to generate random indexes and multiprocessing to generate ``base_seed``" in doc


def test_prefetch_factor_none_means_2_with_workers_and_error_without():
    assert DataLoader(range(4)).prefetch_factor is None
    assert DataLoader(range(4), num_workers=2).prefetch_factor == 2
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in multiprocessing"):
        DataLoader(range(4), prefetch_factor=2)


def test_default_samplers():
    for shuffle, kind in [(None, SequentialSampler), (False, SequentialSampler), (True, RandomSampler)]:
        loader = DataLoader(range(4), shuffle=shuffle)
        assert type(loader.sampler) is kind and type(loader.batch_sampler) is BatchSampler
    assert sorted(n for n in dir(tud) if n.endswith("Sampler")) == [
        "BatchSampler", "DistributedSampler", "RandomSampler", "Sampler", "SequentialSampler",
        "SubsetRandomSampler", "WeightedRandomSampler"]


def test_sampler_can_be_any_sized_iterable_of_keys():
    class ByWord(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, word):
            return len(word)

    assert [b.tolist() for b in DataLoader(ByWord(), sampler=["cat", "loader"], batch_size=2)] == [[3, 6]]


def test_generator_makes_shuffling_reproducible():
    def two_epochs(seed):
        loader = DataLoader(range(10), batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return [torch.cat(list(loader)).tolist() for _ in range(2)]

    a, b = two_epochs(42), two_epochs(42)
    assert a == b and a[0] != a[1]


def test_iterating_a_dataloader_draws_from_the_global_rng():
    torch.manual_seed(0)
    untouched = torch.rand(3)
    torch.manual_seed(0)
    list(DataLoader(range(10)))
    assert not torch.equal(untouched, torch.rand(3))
    # ... and from `generator` when one is given, also with shuffle=False
    g = torch.Generator().manual_seed(1)
    state = g.get_state()
    list(DataLoader(range(3), generator=g))
    assert not torch.equal(state, g.get_state())


def test_mutually_exclusive_options_and_iterable_restrictions():
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"):
        DataLoader(range(10), batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(range(10), sampler=range(10), shuffle=True)
    for kwargs in ({"sampler": range(3)}, {"batch_sampler": [[0, 1]]}, {"shuffle": True}):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
            DataLoader(Stream(3), **kwargs)
    DataLoader(Stream(3), shuffle=False)  # accepted


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


def test_custom_samplers_as_on_the_page():
    class EvenFirst(Sampler[int]):
        def __iter__(self):
            yield from range(0, 10, 2)
            yield from range(1, 10, 2)

        def __len__(self):
            return 10

    assert [b.tolist() for b in DataLoader(range(10), batch_size=4, sampler=EvenFirst())] == [[0, 2, 4, 6], [8, 1, 3, 5], [7, 9]]
    batches = [[3, 1], [0, 2]]
    assert [b.tolist() for b in DataLoader(range(4), batch_sampler=batches)] == batches


@needs_fork
def test_iterable_dataset_duplicates_with_workers_and_sharding_fixes_it():
    loader = DataLoader(Stream(10), batch_size=None, num_workers=2, multiprocessing_context="fork")
    assert collections.Counter(loader) == dict.fromkeys(range(10), 2)

    class Sharded(Stream):
        def __iter__(self):
            info = get_worker_info()
            half = self.n // info.num_workers
            return iter(range(info.id * half, (info.id + 1) * half))

    loader = DataLoader(Sharded(10), batch_size=4, num_workers=2, multiprocessing_context="fork")
    batches = [b.tolist() for b in loader]
    assert batches == [[0, 1, 2, 3], [5, 6, 7, 8], [4], [9]]  # per-worker batches, taken in turn
    assert len(loader) == 3  # the estimate len(dataset) / batch_size, one short


def test_infinite_dummy_sampler_for_iterable_datasets():
    sampler = DataLoader(Stream(3)).sampler
    assert len(list(itertools.islice(iter(sampler), 10_000))) == 10_000


def test_subset_and_random_split():
    """data-datasets cells 16-17: Subset is a view by indices; random_split takes counts or fractions."""
    data = [10, 11, 12, 13, 14, 15]
    sub = tud.Subset(data, [0, 2, 4])
    assert [sub[j] for j in range(len(sub))] == [10, 12, 14] and sub.dataset is data
    a = tud.random_split(data, [4, 2], generator=torch.Generator().manual_seed(0))
    b = tud.random_split(data, [4, 2], generator=torch.Generator().manual_seed(0))
    assert all(isinstance(s, tud.Subset) for s in a) and [s.indices for s in a] == [s.indices for s in b]
    assert sorted(a[0].indices + a[1].indices) == list(range(6))
    assert [len(p) for p in tud.random_split(range(10), [0.7, 0.3])] == [7, 3]


class _Noisy(Dataset):
    def __init__(self):
        import numpy as np
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return 4

    def __getitem__(self, i):
        import numpy as np
        return get_worker_info().id, float(np.random.rand()), float(self.rng.random()), get_worker_info().seed


@needs_fork
def test_worker_random_numbers():
    """data-datasets cells 26-28: global NumPy/torch seeded per worker; a dataset's own generator is copied."""
    import numpy as np

    def run(**kw):
        return list(DataLoader(_Noisy(), batch_size=None, num_workers=2, multiprocessing_context="fork", **kw))

    rows = run()
    own = [r[2] for r in rows]
    assert own[0] == own[1] and own[2] == own[3]          # the two workers draw the same numbers
    assert [r[2] for r in run()] == own                    # ... and every epoch repeats them
    assert len({r[1] for r in rows}) == 4                  # global NumPy differs per worker
    seeds = {r[0]: r[3] for r in rows}
    assert seeds[1] == seeds[0] + 1                        # info.seed = base_seed + worker id

    def reseed(worker_id):
        info = get_worker_info()
        info.dataset.rng = np.random.default_rng(info.seed)

    fixed = [r[2] for r in run(worker_init_fn=reseed)]
    assert fixed[0] != fixed[1]
    g1 = [r[2] for r in run(worker_init_fn=reseed, generator=torch.Generator().manual_seed(0))]
    g2 = [r[2] for r in run(worker_init_fn=reseed, generator=torch.Generator().manual_seed(0))]
    assert g1 == g2


def test_len_of_an_iterable_loader_is_ceil_or_floor():
    """data-datasets cells 24 and 41: len(loader) = ceil(len(dataset) / batch_size), floor with drop_last."""
    assert len(DataLoader(Stream(10), batch_size=4)) == 3
    assert len(DataLoader(Stream(10), batch_size=4, drop_last=True)) == 2
