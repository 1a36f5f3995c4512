"""`make eval`: our NLU against two peers, held-out file and 5-fold cross-validation, one report.

Usage: python -m eval.run_eval [--report-only] [--systems ours,peer_rasa_default,peer_sklearn]

Each system runs in a process of its own (eval/rasa_system.py, eval/sklearn_system.py) and leaves
its per-message predictions in results/eval/NAME/{heldout,cv}.json; this script computes every
number from those with the same code, then writes reports/eval.md and the confusion-matrix PNGs.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from eval.common import FALLBACK_INTENTS, FOLDS, RESULTS, ROOT, SEED, read_json, write_json

REPORTS = ROOT / "reports"
REPORT = REPORTS / "eval.md"
GOAL_MACRO_F1 = 0.95
# DIET trains for minutes per fold on 2 cores; by default peer a runs the first 2 of the 5 seeded
# folds (everything else runs all 5). `make eval EVAL_DIET_FOLDS=5` runs the full protocol.
DEFAULT_DIET_FOLDS = 2

SYSTEMS = {
    "ours": {
        "title": "**ours** (config.yml: jieba + domain dictionary, CountVectors, LogisticRegression)",
        "short": "ours",
        "commands": [["-m", "eval.rasa_system", "ours", "config.yml", part] for part in ("heldout", "cv")],
    },
    "peer_rasa_default": {
        "title": "peer a: `rasa init` default (DIET 100 epochs) with JiebaTokenizer",
        "short": "peer a (Rasa default)",
        "commands": [
            ["-m", "eval.rasa_system", "peer_rasa_default", "eval/peer_rasa_default.yml", part]
            for part in ("heldout", "cv")
        ],
    },
    "peer_sklearn": {
        "title": "peer b: scikit-learn TF-IDF char 1-3-grams + LogisticRegression",
        "short": "peer b (TF-IDF + LR)",
        "commands": [["-m", "eval.sklearn_system", "peer_sklearn"]],
    },
}


# ---------------------------------------------------------------------------------------------
# Running the systems


def diet_folds() -> int:
    """How many of the seeded folds peer a (DIET) runs: EVAL_DIET_FOLDS, default DEFAULT_DIET_FOLDS."""
    value = int(os.environ.get("EVAL_DIET_FOLDS", DEFAULT_DIET_FOLDS))
    if not 1 <= value <= FOLDS:
        sys.exit(f"EVAL_DIET_FOLDS must be between 1 and {FOLDS}")
    return value


SNAPSHOT = RESULTS / "inputs"
# Code and settings the systems read besides the data; a change during the run is reported.
WATCHED = [
    "config.yml",
    "domain.yml",
    "eval/*.py",
    "eval/*.yml",
    "assistant/__init__.py",
    "assistant/nlu/*.py",
    "assistant/text.py",
    "assistant/knowledge.py",
    "knowledge/*",
    "build/jieba/*",
    "data/nlu/*.yml",
    "tests/nlu/heldout.yml",
]


def fingerprint() -> Dict[str, str]:
    files = sorted({f for pattern in WATCHED for f in ROOT.glob(pattern) if f.is_file()})
    return {str(f.relative_to(ROOT)): hashlib.sha256(f.read_bytes()).hexdigest()[:12] for f in files}


def snapshot_data() -> Dict[str, str]:
    """Copies the training data and the held-out file; the systems read only the copies."""
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    (SNAPSHOT / "nlu").mkdir(parents=True)
    for source in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        shutil.copy2(source, SNAPSHOT / "nlu" / source.name)
    shutil.copy2(ROOT / "tests" / "nlu" / "heldout.yml", SNAPSHOT / "heldout.yml")
    return {"EVAL_TRAIN_DATA": str(SNAPSHOT / "nlu"), "EVAL_HELDOUT_DATA": str(SNAPSHOT / "heldout.yml")}


def run_system(name: str, data_env: Dict[str, str]) -> float:
    out = RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONHASHSEED"] = str(SEED)
    env["RASA_MAX_CACHE_SIZE"] = "0"  # no training cache: every training time is a real one
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["LOG_LEVEL"] = "WARNING"
    env.update(data_env)
    for stale in ("heldout.json", "cv.json"):
        (out / stale).unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"[eval] {name}: running (logs: {out.relative_to(ROOT)}/log-*.txt)", flush=True)
    # A Rasa system's held-out part and CV part run side by side (each keeps about one core busy).
    running = []
    for command in SYSTEMS[name]["commands"]:
        part = command[-1] if command[-1] in ("heldout", "cv") else "all"
        if part == "cv" and name == "peer_rasa_default" and diet_folds() < FOLDS:
            command = [*command, str(diet_folds())]
        log = open(out / f"log-{part}.txt", "w", encoding="utf-8")
        process = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        running.append((part, process, log))
    failed = []
    for part, process, log in running:
        if process.wait() != 0:
            failed.append((part, process.returncode))
        log.close()
    seconds = time.perf_counter() - started
    for part, status in failed:
        tail = (out / f"log-{part}.txt").read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print(f"[eval] {name} ({part}) failed (exit {status}):\n" + "\n".join(tail), file=sys.stderr)
    if failed:
        sys.exit(1)
    print(f"[eval] {name}: done in {seconds:.0f} s", flush=True)
    return seconds


# ---------------------------------------------------------------------------------------------
# Metrics, computed the same way for every system


def metrics(predictions: List[Dict[str, Any]]) -> Dict[str, Any]:
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    y_true = [p["intent"] for p in predictions]
    y_pred = [p["predicted"] for p in predictions]
    labels = sorted(set(y_true))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    confusions = Counter((t, p) for t, p in zip(y_true, y_pred, strict=True) if t != p)
    examples: Dict[tuple, str] = {}
    for item in predictions:
        examples.setdefault((item["intent"], item["predicted"]), item["text"])
    n = len(predictions)
    # What the assistant acts on: Rasa's score undoes the FallbackClassifier, this does not.
    runtime = [p.get("runtime", p["predicted"]) for p in predictions]
    in_scope = [r for p, r in zip(predictions, runtime, strict=True) if p["intent"] != "out_of_scope"]
    out_of_scope = [r for p, r in zip(predictions, runtime, strict=True) if p["intent"] == "out_of_scope"]
    served = sum(
        r == p["intent"] or (p["intent"] == "out_of_scope" and r in FALLBACK_INTENTS)
        for p, r in zip(predictions, runtime, strict=True)
    )
    return {
        "n": n,
        "labels": labels,
        "accuracy": sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / n,
        # Over the true intents; a prediction outside them is a miss, not a class of its own.
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "per_intent": {
            label: {"precision": p, "recall": r, "f1": f, "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusions": [
            {"true": t, "predicted": p, "count": c, "example": examples[(t, p)]}
            for (t, p), c in confusions.most_common()
        ],
        "fallback": {
            "nlu_fallback": sum(r == "nlu_fallback" for r in runtime),
            "out_of_scope": sum(r == "out_of_scope" for r in runtime),
            "rate": sum(r in FALLBACK_INTENTS for r in runtime) / n,
            "true_out_of_scope_rate": len(out_of_scope) / n,
            "in_scope_deflected": sum(r in FALLBACK_INTENTS for r in in_scope),
            "in_scope": len(in_scope),
            "out_of_scope_answered": sum(r not in FALLBACK_INTENTS for r in out_of_scope),
            "out_of_scope_total": len(out_of_scope),
            "runtime_accuracy": served / n,
        },
    }


def summarise(name: str, wall_seconds: float | None) -> Dict[str, Any]:
    raw = {**read_json(RESULTS / name / "heldout.json"), **read_json(RESULTS / name / "cv.json")}
    summary = {
        "system": name,
        "config": raw["config"],
        "train_seconds": raw["train_seconds"],
        "heldout_seconds": raw["heldout_seconds"],
        "cv_seconds": raw["cv_seconds"],
        "cv_fold_accuracy": raw["cv_fold_accuracy"],
        "cv_folds_run": raw.get("cv_folds_run", len(raw["cv_fold_accuracy"])),
        "wall_seconds": wall_seconds,
        "heldout": metrics(raw["heldout"]),
        "cv": metrics(raw["cv"]),
        "cv_by_folds": {
            k: metrics([p for p in raw["cv"] if p.get("fold") is not None and p["fold"] < k])
            for k in range(1, FOLDS)
            if any(p.get("fold") is not None and p["fold"] < k for p in raw["cv"])
        },
    }
    rasa_report = RESULTS / name / "heldout" / "intent_report.json"
    if rasa_report.exists():  # Rasa's own figure, as `make test` checks it (counts nlu_fallback as a class)
        summary["rasa_heldout_macro_f1"] = read_json(rasa_report)["macro avg"]["f1-score"]
    return summary


# ---------------------------------------------------------------------------------------------
# Pictures


def _confusion(ax, m: Dict[str, Any], predictions: List[Dict[str, Any]], title: str, small: bool) -> None:
    import numpy as np

    extra = sorted({p["predicted"] for p in predictions} - set(m["labels"]))
    rows, cols = m["labels"], m["labels"] + extra
    counts = np.zeros((len(rows), len(cols)), dtype=int)
    for p in predictions:
        counts[rows.index(p["intent"]), cols.index(p["predicted"])] += 1
    share = counts / counts.sum(axis=1, keepdims=True)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    font = 5 if small else 7
    for i in range(len(rows)):
        for j in range(len(cols)):
            if counts[i, j]:
                wrong = i != j
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=font,
                    color="#c00000" if wrong else ("white" if share[i, j] > 0.6 else "black"),
                    fontweight="bold" if wrong else "normal",
                )
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=90, fontsize=font + 1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=font + 1)
    ax.set_xlabel("predicted", fontsize=font + 2)
    ax.set_ylabel("true intent", fontsize=font + 2)
    ax.set_title(title, fontsize=font + 3)


def plot_confusions(summaries: Dict[str, Dict[str, Any]]) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    REPORTS.mkdir(exist_ok=True)
    if "ours" in summaries:
        s = summaries["ours"]
        predictions = read_json(RESULTS / "ours" / "heldout.json")["heldout"]
        fig, ax = plt.subplots(figsize=(10, 8.5))
        _confusion(
            ax,
            s["heldout"],
            predictions,
            f"ours, held-out ({s['heldout']['n']} messages): accuracy {s['heldout']['accuracy']:.3f}, "
            f"macro F1 {s['heldout']['macro_f1']:.3f}; red = errors",
            small=False,
        )
        fig.tight_layout()
        fig.savefig(REPORTS / "eval_confusion_ours.png", dpi=90)
        plt.close(fig)
        written.append("eval_confusion_ours.png")
    peers = [name for name in ("peer_rasa_default", "peer_sklearn") if name in summaries]
    if peers:
        fig, axes = plt.subplots(1, len(peers), figsize=(7 * len(peers), 6.2), squeeze=False)
        for ax, name in zip(axes[0], peers, strict=True):
            s = summaries[name]
            predictions = read_json(RESULTS / name / "heldout.json")["heldout"]
            _confusion(
                ax,
                s["heldout"],
                predictions,
                f"{SYSTEMS[name]['short']}, held-out: acc {s['heldout']['accuracy']:.3f}, "
                f"macro F1 {s['heldout']['macro_f1']:.3f}",
                small=True,
            )
        fig.tight_layout()
        fig.savefig(REPORTS / "eval_confusion_peers.png", dpi=80)
        plt.close(fig)
        written.append("eval_confusion_peers.png")
    return written


# ---------------------------------------------------------------------------------------------
# The report


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        memory = "?"
    return f"{os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.system()} {platform.release()}"


def _versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for package in ("rasa", "scikit-learn", "tensorflow", "jieba"):
        try:
            parts.append(f"{package} {version(package)}")
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            parts.append(f"{package} ?")
    return ", ".join(parts)


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "config.yml",
        "data",
        "tests/nlu",
        "assistant",
        "knowledge",
        "eval",
    )
    return commit + (" (with uncommitted changes to the evaluated files)" if dirty else "")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _seconds(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:.0f} s" if x < 100 else f"{x / 60:.1f} min"


def write_report(
    summaries: Dict[str, Dict[str, Any]],
    pictures: List[str],
    total_seconds: float | None,
    timings: Dict[str, Any],
) -> None:
    load_average = timings.get("load_average")
    names = [n for n in SYSTEMS if n in summaries]
    ours = summaries.get("ours")
    lines = ["# How well it understands: `make eval`", ""]

    if ours:
        best_peer = max((summaries[n]["heldout"]["macro_f1"] for n in names if n != "ours"), default=0.0)
        ahead = ours["heldout"]["macro_f1"] > best_peer and all(
            ours["heldout"]["accuracy"] > summaries[n]["heldout"]["accuracy"] for n in names if n != "ours"
        )
        reached = ours["heldout"]["macro_f1"] >= GOAL_MACRO_F1
        verdict = "**met**" if ahead and reached else "**not met**"
        lines += [
            f"Goal (issue 4): ours ahead of both peers on the held-out file, with held-out macro F1 ≥ {GOAL_MACRO_F1}: "
            f"{verdict} — ours {ours['heldout']['macro_f1']:.3f} macro F1"
            f" ({'ahead of' if ahead else 'not ahead of'} both peers; best peer {best_peer:.3f}).",
            "",
        ]

    lines += [
        "| system | held-out accuracy | held-out macro F1 | 5-fold CV accuracy | 5-fold CV macro F1 | training time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        s = summaries[name]
        folds = s["cv_fold_accuracy"]
        spread = ""
        if len(folds) > 1:
            spread = f" ({min(folds):.3f}–{max(folds):.3f})"
        if s["cv_folds_run"] < FOLDS:
            spread += f" [{s['cv_folds_run']} of {FOLDS} folds]"
        lines.append(
            f"| {SYSTEMS[name]['title']} | {s['heldout']['accuracy']:.3f} | {s['heldout']['macro_f1']:.3f} | "
            f"{s['cv']['accuracy']:.3f}{spread} | {s['cv']['macro_f1']:.3f} | {_seconds(s['train_seconds'])} |"
        )
    any_summary = summaries[names[0]]
    fewest = min(summaries[n]["cv_folds_run"] for n in names)
    if fewest < FOLDS:
        short = [n for n in names if summaries[n]["cv_folds_run"] == fewest]
        per_fold = ", ".join(f"{_seconds(summaries[n]['cv_seconds'] / fewest)} per fold in this run" for n in short)
        same = "; ".join(
            f"{SYSTEMS[n]['short']} {summaries[n]['cv_by_folds'][fewest]['accuracy']:.3f} / "
            f"{summaries[n]['cv_by_folds'][fewest]['macro_f1']:.3f}"
            for n in names
            if fewest in summaries[n]["cv_by_folds"]
        )
        lines += [
            "",
            f"To keep `make eval` short, {', '.join(SYSTEMS[n]['short'] for n in short)} ran only the first "
            f"{fewest} of the {FOLDS} seeded folds ({per_fold}; `make eval EVAL_DIET_FOLDS={FOLDS}` runs all). "
            f"On exactly those {fewest} folds, CV accuracy / macro F1: {same}.",
        ]
    lines += [
        "",
        f"Held-out: `tests/nlu/heldout.yml`, {any_summary['heldout']['n']} messages, "
        f"{len(any_summary['heldout']['labels'])} intents, never trained on; models trained on all of `data/nlu` "
        f"({any_summary['cv']['n']} messages). CV: stratified {FOLDS}-fold on `data/nlu`, seed {SEED}, the same folds "
        "for all three, figures pooled over the folds. Accuracy and F1 score each system's top intent the way "
        "`rasa test nlu` does (it undoes the FallbackClassifier; the table below shows what the assistant acts "
        "on); macro F1 averages over the true intents. Training time: one NLU training on all of `data/nlu`, "
        "wall clock, in this run, without Rasa's training cache, while the same system's CV ran beside it "
        "(2 cores: one each).",
        "",
        "## Fallback and out-of-scope (held-out)",
        "",
        "| system | predicted `nlu_fallback` | predicted `out_of_scope` | together | true `out_of_scope` share "
        "| in-scope messages deflected | out-of-scope messages answered as something else "
        "| right answer as the user gets it |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        f = summaries[name]["heldout"]["fallback"]
        lines.append(
            f"| {SYSTEMS[name]['short']} | {f['nlu_fallback']} | {f['out_of_scope']} | {_pct(f['rate'])} | "
            f"{_pct(f['true_out_of_scope_rate'])} | {f['in_scope_deflected']} of {f['in_scope']} | "
            f"{f['out_of_scope_answered']} of {f['out_of_scope_total']} | {f['runtime_accuracy']:.3f} |"
        )
    lines += [
        "",
        'What the assistant acts on, FallbackClassifier included (peer b has none). "Right answer as the user '
        'gets it" counts `nlu_fallback` as right for a message that is truly out of scope.',
    ]

    if ours:
        held, cv = ours["heldout"], ours["cv"]
        top_confused: Dict[str, str] = {}
        for c in held["confusions"]:
            top_confused.setdefault(c["true"], f"{c['predicted']} ({c['count']})")
        lines += [
            "",
            "## Ours, per intent (held-out; weakest first)",
            "",
            "| intent | precision | recall | F1 | support | CV F1 | most often taken for |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for label in sorted(held["labels"], key=lambda x: (held["per_intent"][x]["f1"], x)):
            r = held["per_intent"][label]
            cv_f1 = cv["per_intent"].get(label, {}).get("f1")
            lines.append(
                f"| {label} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | {r['support']} | "
                f"{'' if cv_f1 is None else f'{cv_f1:.2f}'} | {top_confused.get(label, '')} |"
            )
        for title, m, k in (("held-out", held, 10), ("5-fold CV", cv, 10)):
            wrong = m["n"] - round(m["accuracy"] * m["n"])
            lines += [
                "",
                f"## Ours, most frequent confusions ({title}: {wrong} errors in {m['n']} messages)",
                "",
                "| true → predicted | count | example message |",
                "|---|---:|---|",
            ]
            for c in m["confusions"][:k]:
                example = c["example"].replace("|", "\\|")
                lines.append(f"| {c['true']} → {c['predicted']} | {c['count']} | {example} |")

    if pictures:
        lines += ["", "## Pictures", ""]
        for picture in pictures:
            lines.append(f"![{picture}]({picture})")
            lines.append("")

    lines += ["", "## How this was made", ""]
    lines.append(
        f"- Command: `make eval` (runs `python -m eval.run_eval`); commit {timings.get('commit') or _commit()}, "
        f"{timings.get('finished', datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))}. The data were copied to "
        "`results/eval/inputs/` when the run started and every system read the copy."
    )
    if timings.get("changed_during_run"):
        lines.append(
            "- **Warning: changed while this run was going on:** "
            + ", ".join(f"`{f}`" for f in timings["changed_during_run"])
            + ". Code changes may have reached only some systems; run `make eval` again."
        )
    lines.append(f"- Machine: {_machine()}; {_versions()}.")
    timing = ", ".join(
        f"{SYSTEMS[n]['short']} {_seconds(summaries[n]['wall_seconds'])} (CV {_seconds(summaries[n]['cv_seconds'])})"
        for n in names
    )
    lines.append(f"- Run time: {_seconds(total_seconds)} in all; per system, start to finish: {timing}.")
    if load_average:
        lines.append(
            f"- 1-minute load average at the start and after each system: {', '.join(map(str, load_average))} "
            f"(on {os.cpu_count()} cores; above {os.cpu_count()} other work was competing and times are inflated)."
        )
    if ours and "rasa_heldout_macro_f1" in ours:
        lines.append(
            f"- Rasa's own `intent_report.json` for ours gives held-out macro F1 "
            f"{ours['rasa_heldout_macro_f1']:.3f} (it averages over every label that occurs, "
            "predicted-only ones included; this is the figure `make test` checks against `NLU_MIN_MACRO_F1`)."
        )
    lines += [
        "- Rasa systems: `rasa train nlu` and `rasa test nlu`'s own evaluation and cross-validation code "
        "(`eval/rasa_system.py`), peer a's config in `eval/peer_rasa_default.yml`; peer b in "
        "`eval/sklearn_system.py`, on the raw text.",
        "- Per-message predictions, Rasa's reports and logs: `results/eval/` (not committed).",
        "",
    ]
    REPORT.write_text("\n".join(lines), encoding="utf-8")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from results/eval/")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated, from: " + ", ".join(SYSTEMS))
    args = parser.parse_args(argv)
    names = [n for n in args.systems.split(",") if n]
    unknown = set(names) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")

    timings_file = RESULTS / "timings.json"
    timings = read_json(timings_file) if timings_file.exists() else {}
    total = None
    if not args.report_only:
        started = time.perf_counter()
        before = fingerprint()
        data_env = snapshot_data()
        load = [os.getloadavg()[0]]
        for name in names:
            timings[name] = run_system(name, data_env)
            load.append(os.getloadavg()[0])
        total = time.perf_counter() - started
        timings["load_average"] = [round(x, 1) for x in load]
        after = fingerprint()
        timings["changed_during_run"] = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
        timings["commit"] = _commit()
        timings["finished"] = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        if timings["changed_during_run"]:
            print(
                f"[eval] WARNING: changed during the run: {', '.join(timings['changed_during_run'])}", file=sys.stderr
            )
        timings["total"] = total if set(names) == set(SYSTEMS) else timings.get("total")
        write_json(timings_file, timings)
    total = timings.get("total", total)

    summaries = {
        n: summarise(n, timings.get(n))
        for n in SYSTEMS
        if (RESULTS / n / "heldout.json").exists() and (RESULTS / n / "cv.json").exists()
    }
    write_json(RESULTS / "summary.json", summaries)
    pictures = plot_confusions(summaries)
    write_report(summaries, pictures, total, timings)
    print(f"[eval] wrote {REPORT.relative_to(ROOT)} and {', '.join('reports/' + p for p in pictures)}")
    for name, s in summaries.items():
        print(
            f"[eval] {name:18s} held-out acc {s['heldout']['accuracy']:.3f} macro F1 {s['heldout']['macro_f1']:.3f} | "
            f"CV acc {s['cv']['accuracy']:.3f} macro F1 {s['cv']['macro_f1']:.3f} | train {s['train_seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
