"""The stylesheet shared by notebook pages: the CSS mkdocs-jupyter inlines into each of them, trimmed.

mkdocs-jupyter inlines ~575 KB of JupyterLab CSS (its whole UI: toolbars, dialogs, file browser, widgets,
icons as data: URIs…) into every notebook page. The site hook removes it from the pages and calls
`shared_stylesheet` once per language after the build, with the blocks it removed and the built site; the
result is served once as `assets/notebook.css`, linked from notebook pages only (overrides/main.html).

Trimming is a small "purge" over the built pages, with tinycss2 (already a dependency) as the parser:

- a style rule is kept when one of its selectors can match the built notebook pages: every class, id,
  element name and attribute name the selector needs occurs somewhere in those pages (arguments of
  `:not()` and other pseudo-classes are not requirements; `:is()` / `:where()` / `:has()` need one of
  their arguments). Selectors that cannot match are dropped from a kept rule's selector list too. Classes
  Material adds at run time (`md-*`) and its `data-md-*` attributes count as present;
- `@media` / `@supports` / `@layer` / `@container` blocks keep what survives inside them;
- custom properties (`--jp-*`, and the `--md-*` palette JupyterLab defines) are kept only when reached
  through `var()`, transitively, from a kept declaration or from the site's other stylesheets (Material's,
  site.css, which may read or override them) or from a `style` attribute in the pages;
- `@font-face` and `@keyframes` are kept only when a kept declaration names their family / animation;
  `@charset` is re-emitted when needed and `@import` is dropped (the site loads nothing from outside).

Order is preserved, so the cascade is unchanged for everything that can match; the result is an
over-approximation (a selector whose parts all occur, but never together, is kept), never an
under-approximation for static pages.

Why no library: PurgeCSS, UnCSS and Lightning CSS's unused-symbol removal are Node or Rust tools, and the
build is Python only (it must run from `make build` on a fresh clone without Node); the Python packages
that exist for this are unmaintained or wrap those tools; and none of them prunes custom properties by
reachability, which is where most of JupyterLab's theme weight is (hundreds of `--jp-*` variables).
"""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import tinycss2
from tinycss2.ast import AtRule, Declaration, FunctionBlock, QualifiedRule

#: Classes and attributes that scripts add to notebook pages at run time (Material's).
RUNTIME_CLASS_PREFIXES = ("md-",)
RUNTIME_ATTR_PREFIXES = ("data-md-",)
#: Pseudo-classes whose argument is a selector list of which one must match.
ANY_OF = {"is", "where", "matches", "-webkit-any", "-moz-any", "has"}
#: Grouping at-rules whose content is a list of rules.
GROUPING = {"media", "supports", "layer", "container", "document", "-moz-document"}
KEYFRAMES = {"keyframes", "-webkit-keyframes", "-moz-keyframes", "-o-keyframes"}
ANIMATION_PROPS = {"animation", "animation-name", "-webkit-animation", "-webkit-animation-name",
                   "-moz-animation", "-moz-animation-name"}
FONT_PROPS = {"font", "font-family"}


class _Present(HTMLParser):
    """Element names, classes, ids and attribute names that occur in some HTML, and its style attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = {"html", "body"}
        self.classes: set[str] = set()
        self.ids: set[str] = set()
        self.attrs: set[str] = set()
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag.lower())
        for name, value in attrs:
            self.attrs.add(name.lower())
            if name == "class" and value:
                self.classes.update(value.split())
            elif name == "id" and value:
                self.ids.add(value)
            elif name == "style" and value:
                self.styles.append(value)

    handle_startendtag = handle_starttag

    def has_class(self, name: str) -> bool:
        return name in self.classes or name.startswith(RUNTIME_CLASS_PREFIXES)

    def has_attr(self, name: str) -> bool:
        return name in self.attrs or name.startswith(RUNTIME_ATTR_PREFIXES)


def _split_commas(tokens: list) -> list[list]:
    parts, current = [], []
    for tok in tokens:
        if tok.type == "literal" and tok.value == ",":
            parts.append(current)
            current = []
        else:
            current.append(tok)
    parts.append(current)
    return parts


def _can_match(selector: list, present: _Present) -> bool:
    """Whether every class, id, element and attribute name the selector needs occurs in the pages."""
    prev = None  # "." or ":" right before this token, else None
    for tok in selector:
        t = tok.type
        if t == "ident":
            if prev == ".":
                if not present.has_class(tok.value):
                    return False
            elif prev != ":" and tok.lower_value not in present.tags:
                return False
        elif t == "hash":
            if tok.value not in present.ids:
                return False
        elif t == "[] block":
            name = next((x for x in tok.content if x.type == "ident"), None)
            if name is not None and not present.has_attr(name.lower_value):
                return False
        elif t == "function" and prev == ":" and tok.lower_name in ANY_OF:
            args = [a for a in _split_commas(tok.arguments) if any(x.type != "whitespace" for x in a)]
            if args and not any(_can_match(a, present) for a in args):
                return False
        prev = tok.value if t == "literal" and tok.value in (".", ":") else None
    return True


def _walk(tokens):
    """Every token, depth first, through function arguments and blocks."""
    for tok in tokens or ():
        yield tok
        if isinstance(tok, FunctionBlock):
            yield from _walk(tok.arguments)
        elif getattr(tok, "content", None) is not None and not isinstance(tok, (QualifiedRule, AtRule)):
            yield from _walk(tok.content)


def _var_refs(tokens) -> set[str]:
    refs = set()
    for tok in _walk(tokens):
        if isinstance(tok, FunctionBlock) and tok.lower_name == "var":
            name = next((a for a in tok.arguments if a.type == "ident"), None)
            if name is not None:
                refs.add(name.value)
    return refs


def _names(tokens) -> set[str]:
    """Identifiers and strings in a value, lower-cased (animation and font family names)."""
    out = set()
    for tok in _walk(tokens):
        if tok.type in ("ident", "string"):
            out.add(tok.value.lower())
    return out


def _text(tokens) -> str:
    return tinycss2.serialize(tokens).strip()


class _Rule:
    """A kept style rule: its matching selectors and its declarations (or raw nested content)."""

    def __init__(self, selectors: list[str], decls: list[Declaration], raw: str | None):
        self.selectors, self.decls, self.raw = selectors, decls, raw

    def css(self, keep_var) -> str:
        if self.raw is not None:
            body = self.raw
        else:
            body = ";".join(f"{d.name}:{_text(d.value)}{'!important' if d.important else ''}"
                            for d in self.decls if not d.name.startswith("--") or keep_var(d.name))
        return f"{','.join(self.selectors)}{{{body}}}" if body else ""


def _select(rules: list, present: _Present) -> list:
    """The rules (recursively) whose selectors can match, as _Rule / ("group", prelude, [...]) / AtRule."""
    out = []
    for rule in rules:
        if isinstance(rule, QualifiedRule):
            selectors = [s for s in _split_commas(rule.prelude) if _text(s)]
            keep = [_text(s) for s in selectors if _can_match(s, present)]
            if not keep:
                continue
            items = tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True)
            decls = [i for i in items if isinstance(i, Declaration)]
            nested = any(isinstance(i, (QualifiedRule, AtRule)) for i in items)
            out.append(_Rule(keep, decls, _text(rule.content) if nested else None))
        elif isinstance(rule, AtRule):
            kw = rule.lower_at_keyword
            if kw in GROUPING and rule.content is not None:
                inner = _select(tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True),
                                present)
                if inner:
                    out.append(("group", f"@{rule.at_keyword} {_text(rule.prelude)}", inner))
            elif kw in ("charset", "import"):
                continue
            else:
                out.append(rule)  # @font-face, @keyframes (decided later), and anything unknown, kept as is
    return out


def _flatten(selected: list):
    for item in selected:
        if isinstance(item, tuple):
            yield from _flatten(item[2])
        else:
            yield item


def _present_in(site_dir: Path) -> tuple[_Present, set[str]]:
    """What the built notebook pages contain, and the var() names the site's other stylesheets use."""
    present = _Present()
    for page in sorted(site_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if "jupyter-wrapper" in text:
            present.feed(text)
    external = set()
    for css in site_dir.rglob("*.css"):
        if css.name != "notebook.css":
            external |= _var_refs(tinycss2.parse_stylesheet(css.read_text(encoding="utf-8"), skip_comments=True))
    for style in present.styles:
        external |= _var_refs(tinycss2.parse_component_value_list(style))
    return present, external


def shared_stylesheet(blocks: list[str], site_dir: Path) -> str:
    """One stylesheet from the distinct inlined blocks (first-seen order), trimmed to what `site_dir`'s
    notebook pages can use (see the module's docstring)."""
    source = "\n".join(dict.fromkeys(b.strip() for b in blocks))
    present, external = _present_in(Path(site_dir))
    selected = _select(tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True), present)
    rules = [r for r in _flatten(selected) if isinstance(r, _Rule)]

    # Custom properties reached through var(), transitively, from kept declarations and the outside.
    graph: dict[str, set[str]] = {}
    roots = set(external)
    animations, fonts = set(), set()
    for r in rules:
        if r.raw is not None:
            roots |= _var_refs(tinycss2.parse_component_value_list(r.raw))
            continue
        for d in r.decls:
            if d.name.startswith("--"):
                graph.setdefault(d.name, set()).update(_var_refs(d.value))
            else:
                roots |= _var_refs(d.value)
    reached, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(graph.get(name, ()))
    for r in rules:
        for d in r.decls:
            if d.name.startswith("--") and d.name not in reached:
                continue
            if d.lower_name in ANIMATION_PROPS or d.name.startswith("--"):
                animations |= _names(d.value)
            if d.lower_name in FONT_PROPS or d.name.startswith("--"):
                fonts |= _names(d.value)

    def keep_at_rule(rule: AtRule) -> bool:
        kw = rule.lower_at_keyword
        if kw in KEYFRAMES:
            return bool(_names(rule.prelude) & animations)
        if kw == "font-face":
            items = tinycss2.parse_blocks_contents(rule.content or [], skip_comments=True, skip_whitespace=True)
            family = [i for i in items if isinstance(i, Declaration) and i.lower_name == "font-family"]
            return bool(family) and bool(_names(family[0].value) & fonts)
        return True

    def emit(items: list) -> str:
        out = []
        for item in items:
            if isinstance(item, _Rule):
                out.append(item.css(reached.__contains__))
            elif isinstance(item, tuple):
                inner = emit(item[2])
                if inner:
                    out.append(f"{item[1]}{{{inner}}}")
            elif keep_at_rule(item):
                out.append(tinycss2.serialize([item]).strip())
        return "\n".join(x for x in out if x)

    css = emit(selected)
    if not css.isascii():
        css = '@charset "UTF-8";\n' + css
    return css + "\n"
