// Render $…$ and $$…$$ (notebook prose) and \( \) / \[ \] (arithmatex on markdown pages) with the
// self-hosted KaTeX. Code, outputs and the search box are left alone.
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "$", right: "$", display: false },
      { left: "\\(", right: "\\)", display: false },
    ],
    ignoredClasses: ["jp-OutputArea", "highlight-ipynb", "md-search", "md-search__output"],
    throwOnError: false,
  });
});
