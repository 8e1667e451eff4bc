"""report.html: one self-contained file (styles inline, plots as data: URIs) with the same tables as report.md."""

from __future__ import annotations

import base64
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bench.report.plots import Plot
from bench.report.tables import Table, lead_and_details

TEMPLATE = "report.html.j2"


def _plot_view(plot: Plot) -> dict[str, Any]:
    uri = f"data:image/png;base64,{base64.b64encode(plot.png).decode('ascii')}" if plot.png is not None else None
    return {"id": plot.id, "title": plot.title, "note": plot.note, "data_uri": uri}


def report_html(title: str, subtitle: str, tables: list[Table], statements: list[str], plots: list[Plot]) -> str:
    environment = Environment(
        loader=PackageLoader("bench.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    lead, details = lead_and_details(tables)
    return environment.get_template(TEMPLATE).render(
        title=title,
        subtitle=subtitle,
        lead=lead,
        details=details,
        statements=statements,
        plots=[_plot_view(plot) for plot in plots],
    )
