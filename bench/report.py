"""The markdown table of ``bench.run``: every figure of issue #15, its ratio and its verdict.

Rows follow the issue's numbering: 1. floor, 2. verification, 3. labels, 4. ingestion,
5. scale and memory, 6. several writers. A ratio is always of two figures measured in the
same run on the same database.
"""

from __future__ import annotations

from bench import load

SCALE_ROWS = [
    ("history", "batch history + genealogy (JSON, both directions)"),
    ("genealogy_svg", "genealogy drawing (SVG)"),
    ("events_page", "page of 100 events at a random depth"),
    ("events_page_org", "page of 100 events of one organisation, random depth"),
    ("mass_balance", "mass-balance report, one organisation"),
    ("inclusion", "inclusion proof"),
    ("consistency", "consistency proof"),
]
BULK_TARGET = 10_000  # events/s
CAPTURE_TARGET = 5_000
WRITER_CHECKS = ("ledger indexes", "chemtrace ledger verify", "quantities")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def rate(figure: load.Load) -> str:
    return f"{figure.rate:,.0f}/s (p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms)"


def table(results: dict, settings, header: str) -> str:
    backends = list(results)
    lines = [
        header,
        "",
        f"| figure | {' | '.join(backends)} | target |",
        "|---" * (len(backends) + 2) + "|",
    ]

    def row(label: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    large = {b: results[b]["large"] for b in backends}
    small = {b: results[b]["small"] for b in backends}
    L = {b: large[b]["loads"] for b in backends}

    def figure(label: str, key: str) -> None:
        row(label, [rate(L[b][key]) if key in L[b] else "not measured" for b in backends])

    def ratio(label: str, key: str, over: str, target: float | None, aim: float | None = None):
        cells = []
        for b in backends:
            if key not in L[b] or over not in L[b]:
                cells.append("not measured")
                continue
            r = L[b][key].rate / L[b][over].rate
            cell = f"{r:.2f}"
            if target is not None:
                cell += f" ({verdict(r >= target)}"
                if aim is not None:
                    cell += f"; aim {aim:.2f} {'reached' if r >= aim else 'not reached'}"
                cell += ")"
            cells.append(cell)
        wanted = "" if target is None else f"≥ {target:.2f}"
        if aim is not None:
            wanted += f" (aim {aim:.2f})"
        row(label, cells, wanted)

    row(
        "events in the database (small / large)",
        [f"{small[b]['events']:,} / {large[b]['events']:,}" for b in backends],
    )
    row("seeding the large database", [f"{large[b]['seed_seconds']:.0f} s" for b in backends])

    row("**1. Floor**", ["" for _ in backends])
    figure("bare Flask JSON GET (`bench/baseline.py`)", "bare_get")
    figure("GET /healthz (every middleware but the rate limiter, no database)", "healthz")
    ratio("/healthz / bare GET", "healthz", "bare_get", 0.85)
    figure("GET /.well-known/jwks.json (every middleware and the rate limiter)", "jwks")
    ratio("jwks / bare GET", "jwks", "bare_get", 0.75)

    row("**2. Verification**", ["" for _ in backends])
    figure("bare Flask JSON POST", "bare_post")
    figure("POST /api/v1/verify, genuine token, live status", "verify")
    ratio("verify / bare POST", "verify", "bare_post", 0.5, aim=0.7)
    figure("ceiling: the same Ed25519 check and one primary-key read, bare", "ceiling_verify")
    ratio(
        "ceiling / bare POST (what the two steps alone cost)", "ceiling_verify", "bare_post", None
    )
    ratio("verify / ceiling", "verify", "ceiling_verify", 0.5, aim=0.7)

    row("**3. Labels**", ["" for _ in backends])
    figure("cached label.png", "label")
    ratio("cached label / bare GET", "label", "bare_get", 0.5)
    figure("cached label revalidated (If-None-Match → 304)", "label_304")
    ratio("revalidated label / bare GET", "label_304", "bare_get", 0.7)
    figure("ceiling: one primary-key read and the same PNG bytes, bare", "ceiling_label")
    ratio("cached label / ceiling", "label", "ceiling_label", 0.5)
    figure("ceiling revalidated (one primary-key read, 304)", "ceiling_label_304")
    ratio("revalidated label / ceiling 304", "label_304", "ceiling_label_304", 0.7)
    row(
        "first rendering of a label PNG, p50 (p99)",
        [
            f"{large[b]['first_render'][0]:.1f} ms ({large[b]['first_render'][1]:.1f} ms)"
            for b in backends
        ],
    )

    row("**4. Ingestion** (into the large database)", ["" for _ in backends])
    ing = {b: large[b]["ingestion"] for b in backends}
    row(
        "batches:bulk, events/s end to end",
        [f"{ing[b]['bulk']:,.0f} ({verdict(ing[b]['bulk'] >= BULK_TARGET)})" for b in backends],
        f"≥ {BULK_TARGET:,}",
    )
    row(
        "EPCIS capture, events/s end to end",
        [
            f"{ing[b]['capture']:,.0f} ({verdict(ing[b]['capture'] >= CAPTURE_TARGET)})"
            for b in backends
        ],
        f"≥ {CAPTURE_TARGET:,}",
    )
    row(
        "raw load of the same rows, events/s (PostgreSQL COPY, SQLite executemany; "
        "one transaction)",
        [f"{ing[b]['raw']:,.0f}" for b in backends],
    )
    row("batches:bulk / raw", [f"{ing[b]['bulk'] / ing[b]['raw']:.2f}" for b in backends])
    row("EPCIS capture / raw", [f"{ing[b]['capture'] / ing[b]['raw']:.2f}" for b in backends])

    row("**5. Scale and memory** (small → large)", ["" for _ in backends])
    for key, label in SCALE_ROWS:
        cells = []
        for b in backends:
            (s50, s99), (l50, l99) = small[b]["scale"][key], large[b]["scale"][key]
            r = l50 / s50
            cells.append(
                f"{s50:.1f} → {l50:.1f} ms (p99 {s99:.1f} → {l99:.1f}); "
                f"×{r:.2f} ({verdict(r <= 2)})"
            )
        row(f"{label}, p50", cells, "≤ ×2")
    exp = {b: large[b]["export"] for b in backends}
    row(
        "worker peak RSS streaming the NDJSON export",
        [
            f"{exp[b]['peak']:.0f} MB (at rest {exp[b]['rest']:.0f}; {exp[b]['rows']:,} rows in "
            f"{exp[b]['seconds']:.0f} s) ({verdict(exp[b]['peak'] < 200)})"
            for b in backends
        ],
        "< 200 MB",
    )
    _writers_rows(results, backends, row)

    tool = next(iter(L.values()))["verify"].tool
    lines += [
        "",
        f"Load generator: {tool}, 16 keep-alive connections, {settings.seconds} s per figure, "
        f"best of {settings.rounds} alternating rounds (bare, ceilings and service). Latency "
        f"figures: {settings.samples} sequential requests each.",
    ]
    return "\n".join(lines)


def _writers_rows(results: dict, backends: list[str], row) -> None:
    row("**6. Several writers** (PostgreSQL, `bench.writers`)", ["" for _ in backends])
    outcomes = {b: results[b].get("writers") for b in backends}

    def cells(make) -> list[str]:
        return [
            make(outcomes[b])
            if outcomes[b]
            else ("PostgreSQL only" if b != "postgresql" else "not run (--no-writers)")
            for b in backends
        ]

    def each(label: str, pick) -> None:
        row(label, cells(lambda os: "; ".join(pick(o) for o in os)))

    each(
        "events/s in total, servers × clients",
        lambda o: (
            f"{o.servers} × {o.clients}: {o.rate:,.0f} (p50 {o.p50_ms:.0f} ms, "
            f"p99 {o.p99_ms:.0f} ms per request)"
        ),
    )
    row(
        "several writers / one writer",
        cells(lambda os: f"×{os[-1].rate / os[0].rate:.2f}" if len(os) > 1 else "one run"),
    )
    for check in WRITER_CHECKS:
        row(
            f"check: {check}",
            cells(
                lambda os, c=check: "; ".join(
                    f"{o.servers} × {o.clients}: {verdict(o.checks[c].startswith('ok'))}"
                    for o in os
                )
            ),
            "ok in every run",
        )


def sweep_table(results: dict[str, list]) -> str:
    lines = [
        "| database | gunicorn | bare POST/s | verify/s | ratio | bare GET/s | label/s | ratio "
        "| /healthz/s | jwks/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, runs in results.items():
        for label, r in runs:
            loads = r["loads"]
            lines.append(
                f"| {backend} | {label} | {loads['bare_post'].rate:,.0f} | "
                f"{loads['verify'].rate:,.0f} | "
                f"{loads['verify'].rate / loads['bare_post'].rate:.2f} | "
                f"{loads['bare_get'].rate:,.0f} | {loads['label'].rate:,.0f} | "
                f"{loads['label'].rate / loads['bare_get'].rate:.2f} | "
                f"{loads['healthz'].rate:,.0f} | {loads['jwks'].rate:,.0f} |"
            )
    return "\n".join(lines)
