"""Report quality on real documentation: the Python 3.11 manual that Debian's python3-doc
installs (HTML under /usr/share/doc/python3/html), with questions and answer keys written before
any run (bench/quality/python_docs_questions.json; never tuned afterwards).

    python -m bench.bench_quality                       # this branch, all questions
    python -m bench.bench_quality --baseline main       # also an older commit, same questions
    python -m bench.bench_quality --quick               # two questions on their own pages (CI)

Per question, from the draft that reaches the approval gate (offline roles):
- key-fact coverage: share of the key facts any of whose phrases appears in the report body;
- cited-source precision / recall: cited pages that are among the question's relevant pages,
  and relevant pages that are cited;
- citation faithfulness: share of cited sentences found (verbatim or nearly) in what they cite
  (the section for section ids, the whole page for page ids);
- seconds per question on a warm index, tracebacks, failed runs.

The baseline runs an older commit's code (`git archive REF`) in its own process. That code read
only .md/.txt, so its corpus is the same pages converted to Markdown by this branch's converter
(paths kept, so page ids are the same). It needs rank-bm25 (`pip install rank-bm25`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from app.research.convert import convert_file
from app.research.grounding import found_in, normalise, section_text
from app.research.report_format import SOURCES, claim_text, parse_report
from app.research.sources import open_sources
from bench.common import Report, parser, quiet_env

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "bench" / "quality" / "python_docs_questions.json"
DOCS = Path("/usr/share/doc/python3/html")
QUICK_IDS = ("q01-lru-cache", "q13-sqlite-transactions")
TARGETS = {"coverage": 0.60, "precision": 0.75, "recall": 0.85, "faithful": 1.0, "seconds": 5.0}


def build_corpus(spec: dict[str, Any], docs: Path, dest: Path, quick: bool, ids: set[str]) -> int:
    """Copy the chosen pages (whole folders; for --quick only the questions' own pages)."""
    wanted: list[Path] = []
    if quick:
        pages = {p for q in spec["questions"] if q["id"] in ids for p in q["sources"]}
        wanted = [docs / f"{p}.html" for p in sorted(pages)]
    else:
        for folder in spec["corpus_folders"]:
            wanted += sorted((docs / folder).rglob("*.html"))
        wanted += [docs / name for name in spec["corpus_files"]]
    for page in wanted:
        target = dest / page.relative_to(docs)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_bytes(page.read_bytes())
    return len(wanted)


def markdown_copy(html_root: Path, dest: Path) -> None:
    """The same pages as Markdown, for code that reads only .md."""
    for page in sorted(html_root.rglob("*.html")):
        target = (dest / page.relative_to(html_root)).with_suffix(".md")
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        converted = convert_file(page)
        title = converted.title or page.stem
        target.write_text(f"# {title}\n\n{converted.markdown}\n", encoding="utf-8")


def run_questions(code: Path, corpus: Path, home: Path, only: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code), "HARNESS_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "quality_runner.py"), str(QUESTIONS), str(corpus),
         str(home), ",".join(only)],
        cwd=code, env=env, capture_output=True, text=True, timeout=3600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"quality runner failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def body_of(draft: str) -> str:
    """The report without its title line and its Sources list."""
    lines = draft.splitlines()[1:]
    if SOURCES in lines:
        lines = lines[: lines.index(SOURCES)]
    return normalise("\n".join(lines))


def score(question: dict[str, Any], entry: dict[str, Any], unit_text) -> dict[str, Any]:
    draft = entry["draft"]
    body = body_of(draft)
    facts = question["key_facts"]
    covered = [f["fact"] for f in facts if any(normalise(a) in body for a in f["any"])]
    parsed = parse_report(draft)
    cited_units = {
        parsed.sources[n][1] or parsed.sources[n][0]
        for _text, cites in parsed.findings for n in cites if n in parsed.sources
    }
    cited_pages = {u.split("#", 1)[0] for u in cited_units}
    relevant = set(question["sources"])
    claims = [(claim_text(t), c) for t, c in parsed.findings if c]
    faithful = sum(
        any(found_in(text, unit_text(parsed.sources[n][1] or "")) for n in cites
            if n in parsed.sources)
        for text, cites in claims
    )
    return {
        "coverage": len(covered) / len(facts),
        "precision": len(cited_pages & relevant) / len(cited_pages) if cited_pages else 0.0,
        "recall": len(cited_pages & relevant) / len(relevant),
        "faithful": faithful / len(claims) if claims else 0.0,
        "claims": len(claims),
        "cited_pages": sorted(cited_pages),
        "missed_facts": [f["fact"] for f in facts if f["fact"] not in covered],
        "seconds": entry["seconds"],
        "traceback": bool(entry["error"] and entry["error"].startswith("traceback")),
        "failed": entry["status"] != "waiting_approval",
        "error": entry["error"],
    }


def unit_texts(html_corpus: Path, home: Path):
    """Text of a cited unit: a section by `doc#slug`, or a whole page by its id."""
    index = open_sources({"kind": "corpus", "path": str(html_corpus)}, html_corpus, home)
    pages: dict[str, str] = {}

    def text(unit: str) -> str:
        if "#" in unit:
            section = index.sections([unit]).get(unit)
            return section_text(section) if section else ""
        if unit not in pages:
            page = html_corpus / f"{unit}.html"
            pages[unit] = convert_file(page).markdown if page.is_file() else ""
        return pages[unit]

    return text


def summarise(report: Report, label: str, scores: list[dict[str, Any]], cold_s: float) -> None:
    n = len(scores)
    mean = {k: sum(s[k] for s in scores) / n for k in ("coverage", "precision", "recall",
                                                        "faithful", "seconds")}
    report.figure(f"{label}_key_fact_coverage_pct", round(100 * mean["coverage"], 1), "%")
    report.figure(f"{label}_source_precision_pct", round(100 * mean["precision"], 1), "%")
    report.figure(f"{label}_source_recall_pct", round(100 * mean["recall"], 1), "%")
    report.figure(f"{label}_faithful_citations_pct", round(100 * mean["faithful"], 1), "%")
    report.figure(f"{label}_seconds_per_question", round(mean["seconds"], 3), "s")
    report.figure(f"{label}_first_run_s", cold_s, "s")
    report.figure(f"{label}_tracebacks", sum(s["traceback"] for s in scores))
    report.figure(f"{label}_failed_runs", sum(s["failed"] for s in scores))
    report.data.setdefault("questions", {})[label] = scores


def main() -> None:
    p = parser("Report quality on the Python documentation (python3-doc)")
    p.add_argument("--docs", default=str(DOCS), help="the python3-doc HTML folder")
    p.add_argument("--baseline", metavar="REF", help="also measure this git commit (e.g. main)")
    p.add_argument("--work", metavar="DIR", help="keep corpora and indexes here between runs")
    args = p.parse_args()
    quiet_env()
    docs = Path(args.docs)
    if not (docs / "library").is_dir():
        raise SystemExit(f"{docs} has no library/ pages: apt-get install python3-doc")
    spec = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    ids = list(QUICK_IDS) if args.quick else [q["id"] for q in spec["questions"]]
    questions = [q for q in spec["questions"] if q["id"] in ids]
    report = Report("bench_quality", "report quality on the Python documentation", args)
    with tempfile.TemporaryDirectory(prefix="harness-quality-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        html = work / ("corpus-quick" if args.quick else "corpus") / "html"
        pages = build_corpus(spec, docs, html, args.quick, set(ids))
        report.note(f"{pages} pages, {len(questions)} questions")
        home = work / "home"
        result = run_questions(REPO, html, home, ids)
        text = unit_texts(html, home)
        scores = [score(q, result["drafts"][q["id"]], text) for q in questions]
        summarise(report, "after", scores, result["cold_s"])
        if args.baseline:
            code = work / f"code-{args.baseline.replace('/', '_')}"
            if not code.exists():
                archive = subprocess.run(["git", "archive", args.baseline, "app", "graphs"],
                                         cwd=REPO, capture_output=True, check=True).stdout
                code.mkdir(parents=True)
                tarfile.open(fileobj=BytesIO(archive)).extractall(code, filter="data")
            markdown = html.parent / "markdown"
            markdown_copy(html, markdown)
            base = run_questions(code, markdown, work / "home-baseline", ids)
            base_scores = [score(q, base["drafts"][q["id"]], text) for q in questions]
            summarise(report, "before", base_scores, base["cold_s"])
            for key in ("coverage", "precision", "recall"):
                now = sum(x[key] for x in scores) / len(scores)
                then = sum(x[key] for x in base_scores) / len(base_scores)
                report.ratio(f"{key}_after_vs_before", now / then if then else float("inf"),
                             meaning=f"{now:.0%} against {then:.0%} on the same questions")
        after = {k: sum(s[k] for s in scores) / len(scores) for k in TARGETS}
        for key, limit in TARGETS.items():
            value = after[key] * (1 if key == "seconds" else 100)
            report.target(f"after_{key}", value, limit * (1 if key == "seconds" else 100),
                          "s" if key == "seconds" else "%", below=key == "seconds")
        for s, q in zip(scores, questions, strict=True):
            report.note(f"{q['id']}: coverage {s['coverage']:.0%} precision {s['precision']:.0%} "
                        f"recall {s['recall']:.0%} faithful {s['faithful']:.0%} "
                        f"{s['seconds']:.2f}s cited {s['cited_pages']}")
    report.save()


if __name__ == "__main__":
    main()
