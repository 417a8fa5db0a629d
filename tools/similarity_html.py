"""report.html of tools/similarity.py: the ranked pairs, then the top ones side by side with what
both wrote marked. Everything that comes from a submission is HTML-escaped."""
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from tools.similarity_scores import marks

TEMPLATE = Path(__file__).resolve().parent / 'templates' / 'similarity.html'
LEVELS = {'common': 1, 'rare': 2}
CLASSES = {level: name for name, level in LEVELS.items()}


def marked(text, sections, spans):
    """[(label, Markup, as written)]: each section of text, escaped, with spans [(start, end,
    level)] in <mark class="rare"> or <mark class="common"> (rare wins where they overlap), and
    the section as written if that differs."""
    level = np.zeros(len(text), np.int8)
    for start, end, name in spans:
        np.maximum(level[start:end], LEVELS[name], out=level[start:end])
    shown = []
    for label, start, end, original in sections:
        cuts = [start] + (np.flatnonzero(np.diff(level[start:end])) + start + 1).tolist() + [end]
        pieces = []
        for first, last in zip(cuts, cuts[1:]):
            piece = escape(text[first:last])
            if level[first]:
                piece = Markup(f'<mark class="{CLASSES[level[first]]}">{piece}</mark>')
            pieces.append(piece)
        shown.append((label, Markup('').join(pieces),
                      original if original != text[start:end] else None))
    return shown


def sides(a, b, code_weights, text_weights):
    """The marked code and text of a (against b) for the template."""
    return {'name': a.name, 'source': str(a.source), 'notes': a.notes,
            'code': marked(a.code, a.code_sections, marks(a.code_prints, b.code_prints,
                                                          code_weights)),
            'text': marked(a.text, a.text_sections, marks(a.text_prints, b.text_prints,
                                                          text_weights))}


def write_report(path, documents, skipped, pairs, code_weights, text_weights, summary):
    """Write report.html: summary has 'pairs' (how many were compared) and 'median' (score)."""
    environment = Environment(loader=FileSystemLoader(TEMPLATE.parent), autoescape=True)
    shown = [{'rank': rank, 'pair': pair,
              'sides': [sides(pair.a, pair.b, code_weights, text_weights),
                        sides(pair.b, pair.a, code_weights, text_weights)]}
             for rank, pair in enumerate(pairs, 1)]
    html = environment.get_template(TEMPLATE.name).render(
        shown=shown, skipped=skipped, summary=summary,
        submissions=sum(not document.reference for document in documents),
        references=sum(document.reference for document in documents),
        noted=[document for document in documents if document.notes],
        rare=code_weights.rare, documents=len(documents))
    Path(path).write_text(html, encoding='utf-8')
