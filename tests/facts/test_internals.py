"""Facts stated in the prose of notebooks/*/internals.ipynb that the notebook does not print live."""
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

TORCH_DIR = Path(torch.__file__).parent
LIB = TORCH_DIR / "lib"
linux_tools = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not (shutil.which("readelf") and shutil.which("nm")),
    reason="needs Linux with readelf and nm",
)


def needed(path):
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}


def defines(path, mangled_fragment):
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True).stdout
    return mangled_fragment in out


def test_torch_init_imports_the_extension_module():
    assert "from torch._C import *" in (TORCH_DIR / "__init__.py").read_text()
    assert Path(torch._C.__file__).parent == TORCH_DIR


def test_tensor_is_python_class_over_cpp_tensorbase():
    assert torch._tensor.Tensor is torch.Tensor
    assert torch._C.TensorBase.__module__ == "torch._C"
    # its methods are C-level method descriptors, not Python functions
    assert isinstance(torch._C.TensorBase.__dict__["add"], types.MethodDescriptorType)
    assert torch.Tensor.add is torch._C.TensorBase.__dict__["add"]
    assert type(torch._C.TensorBase) is torch._C._TensorMeta
    assert torch._C._TensorMeta.__mro__[1] is type


def test_one_tensor_class_for_every_dtype():
    for dtype in (torch.float16, torch.float32, torch.float64, torch.int8, torch.int64, torch.bool):
        assert type(torch.zeros(1, dtype=dtype)) is torch.Tensor


def test_version_cuda_is_a_build_time_constant():
    src = Path(torch.version.__file__).read_text()
    assert "cuda: Optional[str] = " in src or "cuda = " in src
    if "+cpu" in torch.__version__:
        assert torch.version.cuda is None


@linux_tools
def test_layering_edges_drawn_in_the_figure():
    ext = Path(torch._C.__file__)
    assert "libtorch_python.so" in needed(ext)
    assert {"libtorch_cpu.so", "libc10.so"} <= needed(LIB / "libtorch_python.so")
    assert "libc10.so" in needed(LIB / "libtorch_cpu.so")
    if (LIB / "libtorch_cuda.so").exists():
        assert "libtorch_cpu.so" in needed(LIB / "libtorch_cuda.so")


@linux_tools
def test_library_contents_named_in_the_prose():
    cpu, c10 = LIB / "libtorch_cpu.so", LIB / "libc10.so"
    assert defines(cpu, "_ZN2at6native")             # ATen native kernels: at::native::...
    assert defines(cpu, "N5torch8autograd6Engine")   # the autograd engine: torch::autograd::Engine
    assert defines(c10, "N3c1010TensorImpl")         # c10::TensorImpl
    assert defines(c10, "N3c1011StorageImpl")        # c10::StorageImpl
    assert defines(c10, "Allocator")                 # c10 allocators


def test_no_th_thc_headers_anymore():
    include = TORCH_DIR / "include"
    assert (include / "ATen").is_dir() and (include / "c10").is_dir()
    assert not (include / "TH").exists() and not (include / "THC").exists()


def test_torchgen_ships_with_the_operator_declarations():
    from importlib.util import find_spec

    spec = find_spec("torchgen")
    assert spec is not None and find_spec("torchgen.gen") is not None  # the code generator
    yaml_file = Path(spec.origin).parent / "packaged/ATen/native/native_functions.yaml"
    assert "- func: add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor" in yaml_file.read_text()


def test_the_notes_conflict_markers():
    """internals cell 25: one `<<<<<<< HEAD` in the middle; at the end `=======` and a bare commit hash, no `>>>>>>>`."""
    import os
    notes = Path(os.environ.get("PYTORCH_NOTES", Path(__file__).resolve().parents[2].parent / "shared/source/pytorch-docs-01.zh.txt"))
    if not notes.exists():
        pytest.skip(f"the notes are not at {notes} (set PYTORCH_NOTES)")
    lines = [line.strip() for line in notes.read_text(encoding="utf-8").splitlines()]
    head = [i for i, line in enumerate(lines) if line.startswith("<<<<<<<")]
    assert len(head) == 1 and 0.2 < head[0] / len(lines) < 0.6
    assert not any(line.startswith(">>>>>>>") for line in lines)
    import re
    tail = [line for line in lines if line][-2:]
    assert tail[0] == "=======" and re.fullmatch(r"[0-9a-f]{40}", tail[1])
    assert "nn.Module.forward" in lines[head[0]:head[0] + 4]
