"""The course's formulas as MathML on Formgrader's and the feedback pages; runs in the trusted grader.

nbconvert's pages (nbgrader's feedback and Formgrader's manual grading) load MathJax from a CDN
to typeset ``$...$``: where the browser cannot reach it, the page shows raw LaTeX, and where it
can, a third party's script runs in the page. Browsers show MathML themselves (Chromium since
version 109, Firefox and Safari long before), so here the Markdown filter writes each formula as
MathML when the page is made, and the page's MathJax macro loads nothing
(``templates/nbconvert/*/mathjax.html.j2``). nbgrader_config.py sets both up.

The formulas shown are the course's own: `mnistkit.inert` has already made every Markdown cell
a student added or changed a code block, where no ``$`` is math. Even so, what the converter
writes is kept only if it is MathML and nothing else (`safe_mathml`); otherwise the formula is
shown as its escaped LaTeX source.
"""

import os
import xml.etree.ElementTree as ElementTree

from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

import nbgrader

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "nbconvert")
NBGRADER_TEMPLATES = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")

_MATHML = "{http://www.w3.org/1998/Math/MathML}"
# MathML Core's presentation elements, and the attributes latex2mathml writes.
_ELEMENTS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
    "msqrt", "mroot", "mstyle", "mpadded", "mphantom", "munder", "mover", "munderover", "mtable",
    "mtr", "mtd", "menclose", "semantics", "annotation",
}
_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace", "width",
    "height", "depth", "linethickness", "displaystyle", "scriptlevel", "columnalign", "rowspacing",
    "columnspacing", "columnlines", "rowlines", "frame", "framespacing", "notation", "accent",
    "accentunder", "movablelimits", "largeop", "symmetric", "minsize", "maxsize", "encoding",
}


def safe_mathml(markup):
    """``markup`` written again if it is MathML elements with known attributes only, else None."""
    try:
        root = ElementTree.fromstring(markup)
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        if not element.tag.startswith(_MATHML) or element.tag[len(_MATHML):] not in _ELEMENTS:
            return None
        if any(name not in _ATTRIBUTES for name in element.attrib):
            return None
    ElementTree.register_namespace("", _MATHML[1:-1])
    return ElementTree.tostring(root, encoding="unicode")


def mathml(latex, display):
    """One formula as MathML (``display``: a block of its own), or None if it cannot be converted."""
    try:
        markup = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 (latex2mathml raises many kinds on LaTeX it does not know)
        return None
    return safe_mathml(markup)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, writing ``$...$`` and ``$$...$$`` as MathML."""

    def block_math(self, body):
        return mathml(body, display=True) or super().block_math(body)

    def inline_math(self, body):
        return mathml(body, display=False) or super().inline_math(body)


@pass_context
def markdown2html(context, source):
    """The Markdown filter of nbconvert's HTML pages (``HTMLExporter.markdown2html``), with MathML formulas."""
    cell = context.get("cell", {})
    renderer = MathMLRenderer(
        escape=False,
        attachments=cell.get("attachments", {}),
        path=context.get("resources", {}).get("metadata", {}).get("path", ""),
    )
    return MarkdownWithMath(renderer=renderer).render(source)

