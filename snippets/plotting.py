# snippet: plotting.py · compact, reproducible SVG figures (from snippets/ in the repository)
import matplotlib.pyplot as plt
from matplotlib_inline.backend_inline import set_matplotlib_formats

# Compact, reproducible SVG: text stays text, ids and dates do not change between runs.
set_matplotlib_formats("svg", metadata={"Date": None})
plt.rcParams.update({
    "svg.fonttype": "none",
    "svg.hashsalt": "pytorch-docs",
    "figure.figsize": (8, 3.2),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
})
