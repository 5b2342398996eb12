"""The pipeline page as HTML: landmarks, one heading per section, tables with captions, charts
with text, and a Content-Security-Policy that forbids every request the page could make."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from pipeline.site.charts import bar_chart
from pipeline.site.model import Compliance, PipelineView, Site, StageView

STYLE = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CATALOG = "catalog.html"
EVENTS_SHOWN = 200
# The DORA keys from `metrics`: (key, chart title, unit).
METRICS = (
    ("deploymentsPerWeek", "Deployment frequency", "/week"),
    ("leadTimeHoursMedian", "Lead time, median", "h"),
    ("changeFailureRate", "Change failure rate", "%"),
    ("timeToRestoreHoursMedian", "Time to restore, median", "h"),
)


def e(value: object) -> str:
    return escape(str(value), quote=True)


def slug(text: str) -> str:
    """A heading's id: the catalog's rule headings become the rule's name."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower().replace("`", "")).strip("-")


def document(title: str, body: str, nav: list[tuple[str, str]], lead: str) -> str:
    links = "".join(f'<li><a href="{e(href)}">{e(text)}</a></li>' for href, text in nav)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
        '<a class="skip" href="#main">Skip to the content</a>'
        f"<header><h1>{e(title)}</h1>{lead}"
        f'<nav aria-label="Sections"><ul>{links}</ul></nav></header>'
        f'<main id="main">{body}</main>'
        "</body></html>\n"
    )


def _card(stage: StageView) -> str:
    digests = "".join(
        f"<li>{e(service)} <code>{e(digest)}</code></li>"
        for service, digest in sorted(stage.digests.items())
    )
    facts = [
        ("Runs on", f"{stage.cloud}, {stage.region}"),
        ("Release", f"<code>{e(stage.release)}</code>"),
        ("Digests", f"<ul>{digests}</ul>" if digests else "none"),
        ("Infrastructure commit", f"<code>{e(stage.commit)}</code>" if stage.commit else "-"),
        ("Deployed", e(stage.when) if stage.when else "-"),
        ("Approved by", e(stage.approver) if stage.approver else "-"),
        ("Last verified", e(stage.verified) if stage.verified else "-"),
        ("From", "its record in git (stages/" + e(stage.stack) + ")"
         if stage.source == "record" else "its stack file: never promoted"),
    ]  # fmt: skip
    if stage.kind == "rollback":
        facts.insert(1, ("Kind", '<span class="badge rollback">rollback</span>'))
    if stage.gated:
        facts.append(("Promotion", "needs approval"))
    rows = "".join(
        f"<dt>{label}</dt><dd>{value if label != 'Runs on' else e(value)}</dd>"
        for label, value in facts
    )
    return f'<li class="stage"><h4>{e(stage.stack)}</h4><dl>{rows}</dl></li>'


def _stages(pipelines: list[PipelineView]) -> str:
    out = ['<section id="stages" aria-labelledby="stages-h"><h2 id="stages-h">Stages</h2>']
    for p in pipelines:
        out.append(f'<h3 id="pipeline-{e(slug(p.name))}">Pipeline {e(p.name)}</h3>')
        out.append(f'<ol class="flow" aria-label="{e(p.name)}, in promotion order">')
        out += [_card(s) for s in p.stages]
        out.append("</ol>")
        if p.beside:
            out.append("<p>Compared with it, not promoted through it:</p>")
            out.append('<ul class="flow">' + "".join(_card(s) for s in p.beside) + "</ul>")
    return "".join(out) + "</section>"


def _table(table_id: str, caption: str, head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f'<th scope="col">{e(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll" role="region" aria-labelledby="{table_id}" tabindex="0">'
        f'<table><caption id="{table_id}">{caption}</caption><thead><tr>{header}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _parity(pipelines: list[PipelineView]) -> str:
    out = [
        '<section id="parity" aria-labelledby="parity-h"><h2 id="parity-h">Parity</h2>',
        '<p class="muted">Every property that is not the same in all stages of a pipeline, with'
        " its verdict; identity differences (CIDRs, tags) are left out.</p>",
    ]
    for p in pipelines:
        stacks = [s.stack for s in p.stages + p.beside]
        rows = []
        for r in p.rows:
            values = [
                f"<code>{e(r.values.get(s, ''))}</code>" if s in r.values else "" for s in stacks
            ]
            label = f"{e(r.resource.split('::')[-1].replace('{stack}-', ''))}"
            verdict = f'<span class="badge {e(r.verdict)}">{e(r.verdict)}</span> {e(r.reason)}'
            rows.append([label, f"<code>{e(r.property)}</code>", *values, verdict])
        head = ["resource", "property", *stacks, "verdict"]
        caption = f"Pipeline {e(p.name)}: {len(p.rows)} differences"
        out.append(_table(f"parity-{e(slug(p.name))}", caption, head, rows))
    return "".join(out) + "</section>"


def _compliance(compliance: list[Compliance]) -> str:
    rows, details = [], []
    for c in compliance:
        mandatory = sum(len(g.resources) for g in c.findings if g.enforcement == "mandatory")
        advisory = sum(len(g.resources) for g in c.findings if g.enforcement != "mandatory")
        state = "failed" if mandatory else "passed"
        rows.append([
            f"<strong>{e(c.stack)}</strong>", f"<code>{e(c.config)}</code>",
            f"{c.passed} of {c.rules}",
            f'<span class="badge {state}">{mandatory} mandatory</span> {advisory} advisory',
        ])  # fmt: skip
        for g in c.findings:
            named = ", ".join(g.resources[:6]) + (
                f" and {len(g.resources) - 6} more" if len(g.resources) > 6 else ""
            )
            details.append(
                f'<li><span class="badge {e(g.enforcement)}">{e(g.enforcement)}</span> '
                f'{e(c.stack)}: <a href="{CATALOG}#{e(slug(g.policy))}">{e(g.policy)}</a>'
                f" ({e(g.severity)}) ×{len(g.resources)}: {e(g.message)}. Resources: {e(named)}."
                f" Set by <code>{e(c.config)}</code>.</li>"
            )
    table = _table(
        "compliance-t", "Rules passed and findings per stage",
        ["stage", "policy config", "rules passed", "findings"], rows,
    )  # fmt: skip
    findings = (
        f"<h3>Findings</h3><ul>{''.join(details)}</ul>"
        if details
        else ("<p>No stage has a finding.</p>")
    )
    return (
        '<section id="compliance" aria-labelledby="compliance-h">'
        f'<h2 id="compliance-h">Compliance</h2><p>Each rule is described in the'
        f' <a href="{CATALOG}">rule catalog</a>.</p>{table}{findings}</section>'
    )


def _ledger(site: Site) -> str:
    shown = list(reversed(site.events))[:EVENTS_SHOWN]
    items = "".join(
        f'<li><time datetime="{e(ev.time)}">{e(ev.time)}</time> '
        f'<span class="badge {e(ev.kind)}">{e(ev.kind)}</span> {e(ev.text)}'
        f' <span class="muted">#{ev.seq}</span></li>'
        for ev in shown
    )
    more = (
        f"<p>The newest {EVENTS_SHOWN} of {len(site.events)}.</p>"
        if len(site.events) > EVENTS_SHOWN
        else ""
    )
    body = (
        f'<ol class="timeline" reversed>{items}</ol>{more}'
        if items
        else ("<p>Nothing promoted yet.</p>")
    )
    return (
        '<section id="ledger" aria-labelledby="ledger-h"><h2 id="ledger-h">Ledger</h2>'
        f'<p class="muted">Promotions, rollbacks, approvals and verifications, newest first;'
        f" read from {e(site.record)}.</p>{body}</section>"
    )


def _metrics(pipelines: list[PipelineView]) -> str:
    out = [
        '<section id="metrics" aria-labelledby="metrics-h"><h2 id="metrics-h">Delivery metrics</h2>'
    ]
    for p in pipelines:
        if not p.metrics:
            continue
        out.append(f"<h3>Pipeline {e(p.name)}, last {p.metrics[0]['windowDays']} days</h3>")
        charts = []
        for key, title, unit in METRICS:
            points = [(m["stage"], m.get(key)) for m in p.metrics]
            chart_id = f"chart-{slug(p.name)}-{slug(key)}"
            chart = bar_chart(chart_id, f"{title}, pipeline {p.name}", unit, points)
            charts.append(f"<figure><figcaption>{e(title)}</figcaption>{chart}</figure>")
        out.append(f'<div class="charts">{"".join(charts)}</div>')
        rows = [
            [
                e(m["stage"]),
                *(e(m.get(k)) if m.get(k) is not None else "no data" for k, _, _ in METRICS),
            ]
            for m in p.metrics
        ]
        out.append(
            _table(
                f"metrics-{e(slug(p.name))}",
                f"Pipeline {e(p.name)}: the numbers",
                ["stage", *(f"{t} ({u})" for _, t, u in METRICS)],
                rows,
            )
        )
    if len(out) == 1:
        out.append("<p>No promotion record to measure.</p>")
    return "".join(out) + "</section>"


def index(site: Site, command: str) -> str:
    lead = (
        f'<p class="summary">{e(site.summary)}</p>'
        f'<p class="muted">Generated {e(site.generated)} by <code>{e(command)} report --html</code>'
        f" from an offline plan and the promotion record ({e(site.record)}).</p>"
    )
    nav = [("#stages", "Stages"), ("#parity", "Parity"), ("#compliance", "Compliance"),
           ("#ledger", "Ledger"), ("#metrics", "Metrics"), (CATALOG, "Rule catalog")]  # fmt: skip
    body = "".join([
        _stages(site.pipelines), _parity(site.pipelines), _compliance(site.compliance),
        _ledger(site), _metrics(site.pipelines),
    ])  # fmt: skip
    return document(f"{site.project}: pipelines", body, nav, lead)


def catalog(markdown_text: str, project: str) -> str:
    """The policy pack's CATALOG.md as a page whose rule headings are link targets."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(markdown_text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            token.attrSet("id", slug(tokens[i + 1].content))
    body = md.renderer.render(tokens, md.options, {})
    return document(f"{project}: rule catalog", body, [("index.html", "Pipelines")], "")
