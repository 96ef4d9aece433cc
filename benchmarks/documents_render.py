"""Rendering the one-page sample invoice to PDF and to DOCX.

    python -m benchmarks.documents_render [--n 50] [--json results/documents_render.json]

Each format runs in a fresh process of its own (``--only pdf|docx``), so its peak RSS is its
own and its first render is a cold one (fonts, WeasyPrint's CSS, docxtpl's imports). A render
is what the application does for one document: ``invoice_context(SAMPLE_INVOICE)`` (the sums,
the words and the payment QR code as PNG and SVG) and then ``render_pdf`` with the default
``invoice.html`` or ``render_docx`` with the default ``invoice.docx``; the context alone is
timed too. One warm-up render, then ``--n`` timed ones; then ``min(n, 10)`` more under
tracemalloc for the peak of Python allocations of one render (tracemalloc slows them, so they
are not timed). Peak RSS is the process's ``ru_maxrss`` after the runs (it includes Python,
the libraries and, for the PDF, pango/harfbuzz and the fonts).

Target (issue): a one-page invoice PDF in under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TARGET_PDF_MS = 300


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (as benchmarks.common, without its database imports)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _measure(fmt: str, n: int) -> dict:
    started = time.perf_counter()
    from backend.documents.print_forms import (
        SAMPLE_INVOICE,
        default_template,
        invoice_context,
        render_docx,
        render_pdf,
    )

    imported_ms = (time.perf_counter() - started) * 1000
    template = default_template("invoice", fmt)
    source = template.decode("utf-8") if fmt == "html" else template

    def one() -> int:
        context = invoice_context(SAMPLE_INVOICE)
        output = render_pdf(source, context) if fmt == "html" else render_docx(source, context)
        return len(output)

    started = time.perf_counter()
    size = one()
    first_ms = (time.perf_counter() - started) * 1000
    times, context_times = [], []
    for _ in range(n):
        started = time.perf_counter()
        invoice_context(SAMPLE_INVOICE)
        context_times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        one()
        times.append((time.perf_counter() - started) * 1000)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks = []
    for _ in range(min(n, 10)):
        tracemalloc.start()
        one()
        peaks.append(tracemalloc.get_traced_memory()[1] / 1024 / 1024)
        tracemalloc.stop()
    return {
        "format": "pdf" if fmt == "html" else "docx",
        "n": n,
        "bytes": size,
        "import_ms": imported_ms,
        "first_ms": first_ms,
        "median_ms": statistics.median(times),
        "p95_ms": _percentile(times, 95),
        "max_ms": max(times),
        "renders_per_s": n / (sum(times) / 1000),
        "context_median_ms": statistics.median(context_times),
        "peak_rss_mb": peak_rss_mb,
        "tracemalloc_peak_mb": max(peaks),
    }


def _machine() -> dict:
    import weasyprint

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import docxtpl
        docxtpl_version = getattr(docxtpl, "__version__", "?")
    except ImportError:
        docxtpl_version = "?"
    return {
        "cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "weasyprint": weasyprint.__version__, "docxtpl": docxtpl_version, "pango": _pango_version(),
    }


def _pango_version() -> str:
    """The pango WeasyPrint lays text out with (its FFI declares no version call)."""
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libpango-1.0-0"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="timed renders per format (default 50)")
    parser.add_argument("--only", choices=("pdf", "docx"), help="one format, in this process (used by the parent)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.only:
        print(json.dumps(_measure("html" if args.only == "pdf" else "docx", args.n)))
        return
    results = []
    for fmt in ("pdf", "docx"):
        child = subprocess.run([sys.executable, "-m", "benchmarks.documents_render", "--only", fmt, "--n", str(args.n)],
                               cwd=ROOT.parent, capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    machine = _machine()
    print(f"Machine: {machine['cpu']}, {machine['nproc']} cores (nproc); Python {machine['python']}; "
          f"WeasyPrint {machine['weasyprint']} (pango {machine['pango']}); {machine['platform']}")
    print(f"Sample invoice (2 lines, 1 page), {args.n} renders per format after one warm-up; each render "
          "includes invoice_context (sums, words, QR code).\n")
    print("| format | renders/s | median ms | p95 ms | max ms | first (cold) ms | context alone, median ms "
          "| output KB | peak RSS MB | tracemalloc peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['format']} | {r['renders_per_s']:.1f} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
              f"{r['max_ms']:.1f} | {r['first_ms']:.0f} | {r['context_median_ms']:.1f} | {r['bytes'] / 1024:.1f} | "
              f"{r['peak_rss_mb']:.0f} | {r['tracemalloc_peak_mb']:.1f} |")
    pdf = results[0]
    verdict = "met" if pdf["p95_ms"] < TARGET_PDF_MS else "NOT met"
    print(f"\nTarget: PDF under {TARGET_PDF_MS} ms — {verdict} (p95 {pdf['p95_ms']:.0f} ms).")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "results": results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
