# snippet: device.py · use the GPU when there is one, else the CPU (from snippets/ in the repository)
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(0)  # the same numbers on every run
where = torch.cuda.get_device_name(device) if device.type == "cuda" else "no GPU found, using the CPU"
print(f"torch {torch.__version__} · device = {device} ({where})")
