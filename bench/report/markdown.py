"""report.md: the headline table first, then what was valid, the plots and every detail table."""

from __future__ import annotations

from bench.report.plots import Plot
from bench.report.tables import Table, lead_and_details


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    lines = [f"## {table.title}", ""]
    if table.rows:
        lines.append("| " + " | ".join(_cell(column) for column in table.columns) + " |")
        lines.append("|" + "|".join("---" for _ in table.columns) + "|")
        lines.extend("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in table.rows)
        lines.append("")
    lines.extend(f"{note}\n" for note in table.notes)
    return "\n".join(lines).rstrip() + "\n"


def report_markdown(title: str, subtitle: str, tables: list[Table], statements: list[str], plots: list[Plot]) -> str:
    lead, details = lead_and_details(tables)
    parts = [
        f"# {title}\n\n{subtitle}\n",
        *(table_markdown(table) for table in lead),
        "## What was and was not valid\n",
    ]
    parts.append("\n".join(f"- {statement}" for statement in statements) + "\n")
    parts.append("## Plots\n")
    for plot in plots:
        if plot.png is None:
            parts.append(f"- {plot.title}: {plot.note}\n")
        else:
            note = f" {plot.note}" if plot.note else ""
            parts.append(f"![{plot.title}](plots/{plot.id}.png)\n\n{plot.title}.{note}\n")
    parts.extend(table_markdown(table) for table in details)
    return "\n".join(parts)
