"""Documents rendered outside a web request (PDF briefings, printable reports).

A plain Jinja2 environment over the app's template folder, autoescaping as the web's
``Jinja2Templates`` does, so a domain can render a document without importing the web layer.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "web" / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"

documents = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, auto_reload=False
)


def render(template: str, **context: object) -> str:
    """Render one document template with ``context``."""
    return documents.get_template(template).render(**context)
