"""`make eval`: our NLU against two peers on the blind and the held-out file, the real customers' questions
(REAL_DEV, when present) and 5-fold CV, and the follow-up conversations on the real servers (eval/follow_ups.py),
one report.

Usage: python -m eval.run_eval [--report-only] [--no-cv] [--no-follow-ups] [--systems ours,...]
Quick look at ours alone: make eval EVAL_ARGS="--systems ours --no-cv"

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

from common.knowledge import load_knowledge
from eval.common import FALLBACK_INTENTS, FOLDS, REAL_DEV_DATA, RESULTS, ROOT, SEED, TEST_FILES, read_json, write_json
from eval.kinds import KINDS, REAL_KINDS, kinds_of, real_kinds_of

REPORTS = ROOT / "reports"
REPORT = REPORTS / "eval.md"
# Targets on our own files (blind and held-out).
GOAL_BLIND_MACRO_F1 = 0.93
GOAL_WRONG_ANSWER_RATE = 0.03
GOAL_OUT_OF_SCOPE_DECLINED = 0.90
GOAL_HELDOUT_MACRO_F1 = 0.95
# Targets on the real customers' questions.
GOAL_REAL_RIGHT_AT_ONCE = 0.85
GOAL_REAL_WITHIN_ONE_CLICK = 0.93
GOAL_REAL_WRONG_ANSWER_RATE = 0.04
GOAL_REAL_OUT_OF_SCOPE_DECLINED = 0.90
GOAL_REAL_WRONG_NOT_OFFERED_RATE = 0.03
# Targets on the follow-up set (eval/follow_ups.yml, conversations on the real servers).
GOAL_FOLLOW_UPS_RIGHT_AT_ONCE = 0.90
GOAL_FOLLOW_UPS_WRONG_RATE = 0.03
# What each change to the NLU was worth on the real customers' questions, kept by hand beside the code.
CHANGES = ROOT / "eval" / "changes.md"
FOLLOW_UP_RESULTS = RESULTS / "follow_ups.json"
# DIET trains for a quarter of an hour per fold on 2 cores; by default peer a trains once, for the two
# held-out files, and skips cross-validation (everything else runs all 5 folds).
# `make eval EVAL_DIET_FOLDS=5` runs the full protocol; `make eval EVAL_CV=0` skips CV for every system.
DEFAULT_DIET_FOLDS = 0
# What the assistant answers without giving a topic: a clarification, a decline, small talk, the guard.
# Deletion is the exception: taken by mistake, it asks to erase the conversation, a wrong answer.
NO_TOPIC = {*FALLBACK_INTENTS, *load_knowledge().intents_of_kind("stock"),
            *load_knowledge().intents_of_kind("guard")} - {"delete_history"}

SYSTEMS = {
    "ours": {
        "title": (
            "**ours** (config.yml: jieba + domain dictionary, ☎ tokens, e5 sentence embedding + words + char 1-3, "
            "LogisticRegression)"
        ),
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
        "commands": [["-m", "eval.sklearn_system", "peer_sklearn", "all"]],
    },
}


# ---------------------------------------------------------------------------------------------
# Running the systems


def diet_folds() -> int:
    """How many of the seeded folds peer a (DIET) runs: EVAL_DIET_FOLDS, default DEFAULT_DIET_FOLDS."""
    value = int(os.environ.get("EVAL_DIET_FOLDS", DEFAULT_DIET_FOLDS))
    if not 0 <= value <= FOLDS:
        sys.exit(f"EVAL_DIET_FOLDS must be between 0 and {FOLDS}")
    return value


SNAPSHOT = RESULTS / "inputs"
# Code and settings the systems read besides the data; a change during the run is reported.
WATCHED = [
    "config.yml",
    "domain.yml",
    "eval/*.py",
    "eval/*.yml",
    "pipeline/*.py",
    "common/text.py",
    "common/knowledge.py",
    "knowledge/*",
    "build/jieba/*",
    "data/nlu/*.yml",
    "holdout/heldout.yml",
    "holdout/blind.yml",
]


def fingerprint() -> Dict[str, str]:
    files = sorted({f for pattern in WATCHED for f in ROOT.glob(pattern) if f.is_file()})
    return {str(f.relative_to(ROOT)): hashlib.sha256(f.read_bytes()).hexdigest()[:12] for f in files}


def snapshot_data() -> Dict[str, str]:
    """Copies the training data and the two held-out files; the systems read only the copies."""
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    (SNAPSHOT / "nlu").mkdir(parents=True)
    for source in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        shutil.copy2(source, SNAPSHOT / "nlu" / source.name)
    for file_name, path in TEST_FILES.items():
        shutil.copy2(path, SNAPSHOT / f"{file_name}.yml")
    real_dev = {}
    if REAL_DEV_DATA.is_file():
        shutil.copy2(REAL_DEV_DATA, SNAPSHOT / "real_dev.tsv")
        real_dev["EVAL_REAL_DEV_DATA"] = str(SNAPSHOT / "real_dev.tsv")
    return {
        **real_dev,
        "EVAL_TRAIN_DATA": str(SNAPSHOT / "nlu"),
        **{f"EVAL_{file_name.upper()}_DATA": str(SNAPSHOT / f"{file_name}.yml") for file_name in TEST_FILES},
    }


def run_system(name: str, data_env: Dict[str, str], cross_validate: bool) -> float:
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
        part = command[-1]
        if part == "cv" and (not cross_validate or (name == "peer_rasa_default" and diet_folds() == 0)):
            continue
        if part == "all" and not cross_validate:
            command = [*command[:-1], "heldout"]
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
    wrong = [r not in NO_TOPIC and r != p["intent"] for p, r in zip(predictions, runtime, strict=True)]
    return {
        "n": n,
        "labels": labels,
        # Another topic's answer (or hotline) where the right one, a clarification or a decline was due.
        "wrong_answers": sum(wrong),
        "wrong_answer_rate": sum(wrong) / n,
        "out_of_scope_declined": (
            sum(r in FALLBACK_INTENTS for r in out_of_scope) / len(out_of_scope) if out_of_scope else None
        ),
        "kinds": _by_kind(predictions, runtime, wrong),
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


def _by_kind(predictions: List[Dict[str, Any]], runtime: List[str], wrong: List[bool]) -> Dict[str, Dict[str, int]]:
    """Per kind of message (eval/kinds.py): messages, topic right, answered right as the user gets it, wrong answers."""
    table = {kind: {"n": 0, "topic": 0, "right": 0, "wrong": 0} for kind in KINDS}
    for p, r, w in zip(predictions, runtime, wrong, strict=True):
        right = r == p["intent"] or (p["intent"] == "out_of_scope" and r in FALLBACK_INTENTS)
        for kind in kinds_of(p["text"], p["intent"]):
            table[kind]["n"] += 1
            table[kind]["topic"] += p["predicted"] == p["intent"]
            table[kind]["right"] += right
            table[kind]["wrong"] += w
    return table


def real_metrics(predictions: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The real customers' questions as they would be served: answered with the right topic at once, within
    one click (a clarification whose buttons hold it), another topic's answer, out of scope declined."""

    def outcome(p: Dict[str, Any]) -> Dict[str, bool]:
        # A hedged answer (猜你想问, common/hedge.py) is an answer: right at once when its topic is right,
        # else a wrong answer, with the right topic among its 「不是这个问题？」 buttons or not.
        runtime, intent, hedged = p["runtime"], p["intent"], p.get("hedged")
        answer = hedged or runtime
        offered = runtime == "nlu_fallback" and intent in p.get("choices", [])
        wrong = answer not in NO_TOPIC and answer != intent
        if intent == "out_of_scope":
            declined = answer in FALLBACK_INTENTS
            return {"at_once": declined, "one_click": declined, "wrong": wrong, "wrong_not_offered": wrong,
                    "best": declined, "hedged": bool(hedged)}
        at_once = answer == intent
        return {
            "at_once": at_once,
            "one_click": at_once or offered,
            "wrong": wrong,
            "wrong_not_offered": wrong and not offered,
            "best": p["predicted"] == intent,
            "hedged": bool(hedged),
        }

    def tally(items: List[Dict[str, Any]]) -> Dict[str, int]:
        outcomes = [outcome(p) for p in items]
        keys = ("at_once", "one_click", "wrong", "wrong_not_offered", "best", "hedged")
        return {"n": len(items), **{key: sum(o[key] for o in outcomes) for key in keys}}

    in_scope = [p for p in predictions if p["intent"] != "out_of_scope"]
    out_of_scope = [p for p in predictions if p["intent"] == "out_of_scope"]
    scope = tally(in_scope)
    return {
        "n": len(predictions),
        "in_scope": scope["n"],
        "right_at_once": scope["at_once"] / scope["n"],
        "within_one_click": scope["one_click"] / scope["n"],
        "best_topic": scope["best"] / scope["n"],
        "clarified": sum(p["runtime"] == "nlu_fallback" and not p.get("hedged") for p in in_scope) / scope["n"],
        "wrong_answers": sum(outcome(p)["wrong"] for p in predictions),
        "wrong_answer_rate": sum(outcome(p)["wrong"] for p in predictions) / len(predictions),
        "wrong_not_offered": sum(outcome(p)["wrong_not_offered"] for p in predictions),
        "wrong_not_offered_rate": sum(outcome(p)["wrong_not_offered"] for p in predictions) / len(predictions),
        "hedged": sum(outcome(p)["hedged"] for p in predictions),
        "out_of_scope_declined": tally(out_of_scope)["at_once"] / len(out_of_scope) if out_of_scope else None,
        "out_of_scope": len(out_of_scope),
        "per_intent": {
            i: tally([p for p in predictions if p["intent"] == i]) for i in sorted({p["intent"] for p in predictions})
        },
        "kinds": {k: tally([p for p in predictions if k in real_kinds_of(p["text"], p["intent"])]) for k in REAL_KINDS},
    }


def trained_sentences() -> set:
    """The training sentences as the NLU reads them, from the run's copy of the data."""
    from rasa.shared.nlu.training_data.loading import load_data

    from common.text import normalize

    source = SNAPSHOT / "nlu" if (SNAPSHOT / "nlu").exists() else ROOT / "data" / "nlu"
    return {normalize(m.get("text")) for m in load_data(str(source)).intent_examples}


def never_trained_on(predictions: List[Dict[str, Any]], trained: set) -> List[Dict[str, Any]]:
    """A held-out message equal to a training sentence (the same short phrase written twice, or an example
    from docs/intents.md used by both writers) is scored for no system."""
    from common.text import normalize

    return [p for p in predictions if normalize(p["text"]) not in trained]


def summarise(name: str, wall_seconds: float | None, trained: set) -> Dict[str, Any]:
    cv_file = RESULTS / name / "cv.json"
    raw = {"cv": [], "cv_seconds": None, "cv_fold_accuracy": [], **read_json(RESULTS / name / "heldout.json")}
    if cv_file.exists():
        raw.update(read_json(cv_file))
    summary = {
        "system": name,
        "config": raw["config"],
        "train_seconds": raw["train_seconds"],
        "heldout_seconds": raw["heldout_seconds"],
        "cv_seconds": raw["cv_seconds"],
        "cv_fold_accuracy": raw["cv_fold_accuracy"],
        "cv_folds_run": raw.get("cv_folds_run", len(raw["cv_fold_accuracy"])),
        "wall_seconds": wall_seconds,
        **{file_name: metrics(never_trained_on(raw[file_name], trained)) for file_name in TEST_FILES},
        "left_out": {file_name: len(raw[file_name]) - len(never_trained_on(raw[file_name], trained))
                     for file_name in TEST_FILES},  # fmt: skip
        "cv": metrics(raw["cv"]) if raw["cv"] else None,
        "real_dev": real_metrics(raw["real_dev"]) if raw.get("real_dev") else None,
        "cv_by_folds": {
            k: metrics([p for p in raw["cv"] if p.get("fold") is not None and p["fold"] < k])
            for k in range(1, FOLDS)
            if any(p.get("fold") is not None and p["fold"] < k for p in raw["cv"])
        },
    }
    for file_name in TEST_FILES:
        rasa_report = RESULTS / name / file_name / "intent_report.json"
        if rasa_report.exists():  # Rasa's own figure, as `make test` checks it (counts predicted-only labels)
            summary[f"rasa_{file_name}_macro_f1"] = read_json(rasa_report)["macro avg"]["f1-score"]
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


def plot_confusions(summaries: Dict[str, Dict[str, Any]], trained: set) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    REPORTS.mkdir(exist_ok=True)
    for file_name in TEST_FILES if "ours" in summaries else ():
        m = summaries["ours"][file_name]
        predictions = never_trained_on(read_json(RESULTS / "ours" / "heldout.json")[file_name], trained)
        fig, ax = plt.subplots(figsize=(11, 9.5))
        _confusion(
            ax,
            m,
            predictions,
            f"ours, {file_name} ({m['n']} messages): accuracy {m['accuracy']:.3f}, "
            f"macro F1 {m['macro_f1']:.3f}; red = errors",
            small=False,
        )
        fig.tight_layout()
        picture = "eval_confusion_ours.png" if file_name == "heldout" else f"eval_confusion_ours_{file_name}.png"
        fig.savefig(REPORTS / picture, dpi=90)
        plt.close(fig)
        written.append(picture)
    peers = [name for name in ("peer_rasa_default", "peer_sklearn") if name in summaries]
    if peers:
        fig, axes = plt.subplots(1, len(peers), figsize=(8 * len(peers), 7), squeeze=False)
        for ax, name in zip(axes[0], peers, strict=True):
            m = summaries[name]["blind"]
            predictions = never_trained_on(read_json(RESULTS / name / "heldout.json")["blind"], trained)
            _confusion(
                ax,
                m,
                predictions,
                f"{SYSTEMS[name]['short']}, blind: acc {m['accuracy']:.3f}, macro F1 {m['macro_f1']:.3f}",
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
        "holdout",
        "pipeline",
        "common",
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


def _cv_cell(s: Dict[str, Any]) -> str:
    if not s["cv"]:
        return "not run"
    folds = s["cv_fold_accuracy"]
    cell = f"{s['cv']['macro_f1']:.3f}"
    if s["cv_folds_run"] < FOLDS:
        cell += f" [{s['cv_folds_run']} of {FOLDS} folds]"
    elif len(folds) > 1:
        cell += f" ({min(folds):.3f}–{max(folds):.3f} acc.)"
    return cell


def _declined(m: Dict[str, Any]) -> str:
    return "–" if m["out_of_scope_declined"] is None else f"{m['out_of_scope_declined']:.3f}"


def _goals(summaries: Dict[str, Dict[str, Any]], names: List[str]) -> List[str]:
    ours = summaries["ours"]
    blind, held = ours["blind"], ours["heldout"]
    peers = [n for n in names if n != "ours"]
    ahead = all(ours[f]["macro_f1"] > summaries[n][f]["macro_f1"] for n in peers for f in TEST_FILES)
    blind_wrong_ok = blind["wrong_answer_rate"] <= GOAL_WRONG_ANSWER_RATE
    checks = [
        (f"blind macro F1 ≥ {GOAL_BLIND_MACRO_F1}", blind["macro_f1"] >= GOAL_BLIND_MACRO_F1,
         f"{blind['macro_f1']:.3f}"),
        (f"blind wrong-answer rate ≤ {_pct(GOAL_WRONG_ANSWER_RATE)}", blind_wrong_ok, _pct(blind["wrong_answer_rate"])),
        (f"blind out-of-scope declined ≥ {GOAL_OUT_OF_SCOPE_DECLINED}",
         (blind["out_of_scope_declined"] or 0) >= GOAL_OUT_OF_SCOPE_DECLINED, _declined(blind)),
        (f"held-out macro F1 ≥ {GOAL_HELDOUT_MACRO_F1}", held["macro_f1"] >= GOAL_HELDOUT_MACRO_F1,
         f"{held['macro_f1']:.3f}"),
        ("ahead of both peers on both files (macro F1)", ahead and len(peers) == 2,
         "yes" if ahead and len(peers) == 2 else f"no ({len(peers)} of 2 peers run)" if len(peers) < 2 else "no"),
    ]  # fmt: skip
    lines = ["Targets on our own files, for ours:", "", "| target | ours | |", "|---|---:|---|"]
    lines += [f"| {target} | {value} | {'**met**' if ok else '**not met**'} |" for target, ok, value in checks]
    return lines


def _real_customers(summaries: Dict[str, Dict[str, Any]], names: List[str]) -> List[str]:
    real = summaries["ours"]["real_dev"]
    once, click, wrong = GOAL_REAL_RIGHT_AT_ONCE, GOAL_REAL_WITHIN_ONE_CLICK, GOAL_REAL_WRONG_ANSWER_RATE
    checks = [
        (f"right at once ≥ {once}", real["right_at_once"] >= once, f"{real['right_at_once']:.3f}"),
        (f"right within one click ≥ {click}", real["within_one_click"] >= click, f"{real['within_one_click']:.3f}"),
        (f"wrong answers ≤ {_pct(wrong)}", real["wrong_answer_rate"] <= wrong, _pct(real["wrong_answer_rate"])),
        (f"wrong answers without the right topic offered ≤ {_pct(GOAL_REAL_WRONG_NOT_OFFERED_RATE)}",
         real.get("wrong_not_offered_rate", 1) <= GOAL_REAL_WRONG_NOT_OFFERED_RATE,
         _pct(real.get("wrong_not_offered_rate", 1))),
        (f"out of scope declined ≥ {GOAL_REAL_OUT_OF_SCOPE_DECLINED}",
         (real["out_of_scope_declined"] or 0) >= GOAL_REAL_OUT_OF_SCOPE_DECLINED, _declined(real)),
    ]  # fmt: skip
    lines = [
        f"## Real customers' questions ({REAL_DEV_DATA.name}, {real['n']} questions, {real['out_of_scope']} of them "
        "out of scope)",
        "",
        "Questions real customers typed into finance and after-sales service, copied from public corpora and "
        "labelled twice to our intents (`../shared/real-customers/README.md`; set `REAL_DEV` to use another file). "
        "Never trained on: `tests/unit/test_training_data.py` keeps their sentences out of `data/nlu`. "
        "Right at once and within one click count in-scope questions: the right topic's answer at once, or a "
        "\"您是想问…吗\" whose buttons (chosen as `actions/clarify.py` chooses them) hold the right topic. Wrong "
        "answers count every question; out of scope declined counts a decline or a clarification. A hedged answer "
        "(猜你想问: the best topic answered at once under the threshold, with 「不是这个问题？」 and the other "
        "likely topics as buttons) counts as right at once when its topic is right, and as a wrong answer when not, "
        "with or without the right topic among its buttons.",
        "",
        "Targets on the real customers' questions, for ours:",
        "",
        "| target | ours | |",
        "|---|---:|---|",
    ]
    lines += [f"| {target} | {value} | {'**met**' if ok else '**not met**'} |" for target, ok, value in checks]
    systems = [n for n in names if summaries[n].get("real_dev")]
    lines += [
        "",
        "| system | right at once | within one click | clarified | hedged | best topic, no threshold | wrong answers "
        "| of them without the right topic offered | out of scope declined |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in systems:
        r = summaries[name]["real_dev"]
        lines.append(
            f"| {SYSTEMS[name]['short']} | **{r['right_at_once']:.3f}** | {r['within_one_click']:.3f} | "
            f"{_pct(r['clarified'])} | {r.get('hedged', 0)} | {r['best_topic']:.3f} | "
            f"{_pct(r['wrong_answer_rate'])} ({r['wrong_answers']}) | "
            f"{_pct(r.get('wrong_not_offered_rate', 0))} ({r.get('wrong_not_offered', 0)}) | {_declined(r)} |"
        )
    if CHANGES.exists():
        lines += ["", CHANGES.read_text(encoding="utf-8").strip()]
    for title, table in (("kind of question (`eval/kinds.py`)", real["kinds"]),
                         ("intent", real["per_intent"])):  # fmt: skip
        lines += [
            "",
            f"### Ours on the real customers' questions, by {title}",
            "",
            "For out-of-scope questions, right means declined.",
            "",
            "| | questions | right at once | within one click | wrong answers |",
            "|---|---:|---:|---:|---:|",
        ]
        for key, t in table.items():
            if t["n"]:
                lines.append(
                    f"| {key} | {t['n']} | {t['at_once'] / t['n']:.2f} | {t['one_click'] / t['n']:.2f} | {t['wrong']} |"
                )
    return lines


def _follow_ups() -> List[str]:
    """The follow-up set (eval/follow_ups.py): conversations on the real servers, by kind and service."""
    if not FOLLOW_UP_RESULTS.exists():
        return []
    results = read_json(FOLLOW_UP_RESULTS)
    total = results["summary"]["all"]
    at_once, wrong = total["at_once"] / total["n"], total["wrong"] / total["n"]
    lines = [
        f"## Follow-ups in a conversation (`eval/follow_ups.yml`, {total['n']} conversations)",
        "",
        "Conversations of our own whose last message leans on the turns before it (「费用是？」 after a repair answer, "
        "「那借呗呢」, 「还是不行」, 「我已经转了5000」 after a scam warning, a number after a number check), and a "
        "clear new question after another topic. Each is sent to the real action server and Rasa server with the "
        "trained model (`models/cs-assistant.tar.gz`); the reply to the last message is scored by what it answers "
        "(its topic and service, stored with the message) against the expected topic and service. Within one click: "
        "or a reply whose buttons hold the expected topic. Wrong: an answer about another topic or service.",
        "",
        "| target | ours | |",
        "|---|---:|---|",
        f"| right at once ≥ {GOAL_FOLLOW_UPS_RIGHT_AT_ONCE} | {at_once:.3f} | "
        f"{'**met**' if at_once >= GOAL_FOLLOW_UPS_RIGHT_AT_ONCE else '**not met**'} |",
        f"| wrong answers ≤ {_pct(GOAL_FOLLOW_UPS_WRONG_RATE)} | {_pct(wrong)} | "
        f"{'**met**' if wrong <= GOAL_FOLLOW_UPS_WRONG_RATE else '**not met**'} |",
        "",
        "| kind | conversations | right at once | within one click | wrong answers |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [("**all**", total), *results["summary"]["kinds"].items(),
            *((f"service: {key}", t) for key, t in results["summary"]["services"].items())]
    for key, t in rows:
        if t["n"]:
            lines.append(f"| {key} | {t['n']} | {t['at_once'] / t['n']:.2f} | {t['one_click'] / t['n']:.2f} | "
                         f"{t['wrong']} |")
    failures = [c for c in results["conversations"] if not c["at_once"]]
    if failures:
        lines += ["", "Not right at once (conversation → what the last reply answered):", ""]
        for c in failures:
            got = ", ".join(f"{t}/{s or '-'}" for t, s in c["answered"]) or "no answer (clarification or decline)"
            lines.append(f"- {c['kind']}: {' → '.join(c['turns'])} (expected {c['topic']}/{c.get('service') or '-'}): "
                         f"{got}")
    return lines + [""]


def _overview(summaries: Dict[str, Dict[str, Any]], names: List[str]) -> List[str]:
    """Every system on the blind and held-out files, and how they were scored."""
    lines: List[str] = []
    lines += [
        "| system | **blind** macro F1 | blind accuracy | blind wrong answers | blind out-of-scope declined "
        "| held-out macro F1 | held-out accuracy | held-out wrong answers | 5-fold CV macro F1 | training time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        s = summaries[name]
        b, h = s["blind"], s["heldout"]
        lines.append(
            f"| {SYSTEMS[name]['title']} | **{b['macro_f1']:.3f}** | {b['accuracy']:.3f} | "
            f"{_pct(b['wrong_answer_rate'])} | {_declined(b)} | {h['macro_f1']:.3f} | {h['accuracy']:.3f} | "
            f"{_pct(h['wrong_answer_rate'])} | {_cv_cell(s)} | {_seconds(s['train_seconds'])} |"
        )
    first = summaries[names[0]]
    cv_note = (
        f"CV: stratified {FOLDS}-fold on `data/nlu`, seed {SEED}, the same folds for every system that ran it, "
        "figures pooled over the folds"
        if any(summaries[n]["cv"] for n in names)
        else "cross-validation was skipped in this run (`--no-cv` / `EVAL_CV=0`)"
    )
    lines += [
        "",
        f"Blind: `holdout/blind.yml`, {first['blind']['n']} messages scored, {len(first['blind']['labels'])} intents "
        f"({first['left_out']['blind']} more equal a training sentence and are scored for no system), "
        "written by people who saw only `docs/intents.md` and a description of how customers write, never the "
        f"training data. Held-out: `holdout/heldout.yml`, {first['heldout']['n']} messages scored "
        f"({first['left_out']['heldout']} left out), "
        f"{len(first['heldout']['labels'])} intents, in the training data's voice. Neither is trained on; each "
        f"system trains once on all of `data/nlu` and reads both. {cv_note}. Accuracy and F1 score each "
        "system's top intent the way `rasa test nlu` does (it undoes the FallbackClassifier); macro F1 averages "
        "over the true intents. **Wrong answers** are what the user gets: another topic's answer or hotline "
        "(FallbackClassifier included), where the right answer, a clarification (\"您是想问…吗\") or a decline was "
        "due; out-of-scope declined counts `out_of_scope` and `nlu_fallback` answers to out-of-scope messages. "
        "Peer b has no fallback, so everything it is unsure of becomes an answer. Training time: one NLU training "
        "on all of `data/nlu`, wall clock, in this run, without Rasa's training cache.",
    ]
    return lines


def _kinds_tables(summaries: Dict[str, Dict[str, Any]], names: List[str]) -> List[str]:
    """Per kind of message (eval/kinds.py), per file and system."""
    lines: List[str] = []
    for file_name in TEST_FILES:
        lines += [
            "",
            f"## By kind of message, {file_name} file",
            "",
            "Per system: share of the messages of that kind whose top intent is right / share answered right as the "
            "user gets it (a clarification is not right here) and, in brackets, wrong answers. Kinds are "
            "told apart by rules on the text and the true intent (`eval/kinds.py`), the same messages for every "
            "system; kind 8 is any message with digits but no phone number, kind 11 a problem message that also "
            "asks for a person or a number (answered right when its topic is; the hotline card then follows).",
            "",
            "| kind | messages | " + " | ".join(SYSTEMS[n]["short"] for n in names) + " |",
            "|---|---:|" + "---:|" * len(names),
        ]
        for kind in KINDS:
            n = summaries[names[0]][file_name]["kinds"][kind]["n"]
            cells = []
            for name in names:
                k = summaries[name][file_name]["kinds"][kind]
                cells.append(f"{k['topic'] / n:.2f} / {k['right'] / n:.2f} ({k['wrong']})" if n else "–")
            lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    return lines


def _fallback(summaries: Dict[str, Dict[str, Any]], names: List[str]) -> List[str]:
    """Clarifications and declines, per file and system."""
    lines: List[str] = []
    for file_name in TEST_FILES:
        lines += [
            "",
            f"## Fallback and out-of-scope ({file_name})",
            "",
            "| system | predicted `nlu_fallback` | predicted `out_of_scope` | in-scope messages deflected "
            "| out-of-scope messages answered as something else | wrong answers | right answer as the user gets it |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name in names:
            m = summaries[name][file_name]
            f = m["fallback"]
            lines.append(
                f"| {SYSTEMS[name]['short']} | {f['nlu_fallback']} | {f['out_of_scope']} | "
                f"{f['in_scope_deflected']} of {f['in_scope']} | {f['out_of_scope_answered']} of "
                f"{f['out_of_scope_total']} | {m['wrong_answers']} of {m['n']} | {f['runtime_accuracy']:.3f} |"
            )
    return lines


def _ours_in_detail(ours: Dict[str, Any]) -> List[str]:
    """Ours per intent, and its most frequent confusions."""
    lines: List[str] = []
    blind, held, cv = ours["blind"], ours["heldout"], ours["cv"]
    top_confused: Dict[str, str] = {}
    for c in blind["confusions"]:
        top_confused.setdefault(c["true"], f"{c['predicted']} ({c['count']})")
    lines += [
        "",
        "## Ours, per intent (blind; weakest first)",
        "",
        "| intent | precision | recall | F1 | support | held-out F1 | CV F1 | most often taken for |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label in sorted(blind["labels"], key=lambda x: (blind["per_intent"][x]["f1"], x)):
        r = blind["per_intent"][label]
        held_f1 = held["per_intent"].get(label, {}).get("f1")
        cv_f1 = (cv or {}).get("per_intent", {}).get(label, {}).get("f1")
        lines.append(
            f"| {label} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | {r['support']} | "
            f"{'' if held_f1 is None else f'{held_f1:.2f}'} | {'' if cv_f1 is None else f'{cv_f1:.2f}'} | "
            f"{top_confused.get(label, '')} |"
        )
    wrong = blind["n"] - round(blind["accuracy"] * blind["n"])
    lines += [
        "",
        f"## Ours, most frequent confusions (blind: {wrong} errors in {blind['n']} messages)",
        "",
        "Counts only: the blind file's sentences stay out of the reports, so that nobody tunes the data to them.",
        "",
        "| true → predicted | count |",
        "|---|---:|",
    ]
    lines += [f"| {c['true']} → {c['predicted']} | {c['count']} |" for c in blind["confusions"][:15]]
    for title, m in (("held-out", held), ("5-fold CV", cv)):
        if not m:
            continue
        wrong = m["n"] - round(m["accuracy"] * m["n"])
        lines += [
            "",
            f"## Ours, most frequent confusions ({title}: {wrong} errors in {m['n']} messages)",
            "",
            "| true → predicted | count | example message |",
            "|---|---:|---|",
        ]
        for c in m["confusions"][:10]:
            example = c["example"].replace("|", "\\|")
            lines.append(f"| {c['true']} → {c['predicted']} | {c['count']} | {example} |")
    return lines


def _pictures(pictures: List[str]) -> List[str]:
    """The confusion-matrix pictures."""
    lines: List[str] = []
    if pictures:
        lines += ["", "## Pictures", ""]
        for picture in pictures:
            lines.append(f"![{picture}]({picture})")
            lines.append("")
    return lines


def _how_made(summaries: Dict[str, Dict[str, Any]], names: List[str], total_seconds: float | None,
              timings: Dict[str, Any]) -> List[str]:
    """Command, commit, machine and timings of this run."""
    ours = summaries.get("ours")
    load_average = timings.get("load_average")
    lines: List[str] = []
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
    timing = ", ".join(f"{SYSTEMS[n]['short']} {_seconds(summaries[n]['wall_seconds'])}" for n in names)
    lines.append(f"- Run time: {_seconds(total_seconds)} in all; per system, start to finish: {timing}.")
    if load_average:
        lines.append(
            f"- 1-minute load average at the start and after each system: {', '.join(map(str, load_average))} "
            f"(on {os.cpu_count()} cores; above {os.cpu_count()} other work was competing and times are inflated)."
        )
    if ours and "rasa_blind_macro_f1" in ours:
        lines.append(
            f"- Rasa's own `intent_report.json` for ours gives blind macro F1 {ours['rasa_blind_macro_f1']:.3f} and "
            f"held-out {ours.get('rasa_heldout_macro_f1', 0):.3f} (it averages over every label that occurs, "
            "predicted-only ones included; these are the figures `make test` checks)."
        )
    lines += [
        "- Rasa systems: `rasa train nlu` and `rasa test nlu`'s own evaluation and cross-validation code "
        "(`eval/rasa_system.py`), peer a's config in `eval/peer_rasa_default.yml`; peer b in "
        "`eval/sklearn_system.py`, on the raw text.",
        "- Per-message predictions, Rasa's reports and logs: `results/eval/` (not committed).",
        "",
    ]
    return lines


def write_report(
    summaries: Dict[str, Dict[str, Any]],
    pictures: List[str],
    total_seconds: float | None,
    timings: Dict[str, Any],
) -> None:
    names = [n for n in SYSTEMS if n in summaries]
    ours = summaries.get("ours")
    lines = ["# How well it understands: `make eval`", ""]
    if ours and ours.get("real_dev"):
        lines += _real_customers(summaries, names) + [""]
    lines += _follow_ups()
    if ours:
        lines += _goals(summaries, names) + [""]
    lines += _overview(summaries, names) + _kinds_tables(summaries, names) + _fallback(summaries, names)
    if ours:
        lines += _ours_in_detail(ours)
    lines += _pictures(pictures) + _how_made(summaries, names, total_seconds, timings)
    REPORT.write_text("\n".join(lines), encoding="utf-8")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from results/eval/")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated, from: " + ", ".join(SYSTEMS))
    parser.add_argument(
        "--no-follow-ups", action="store_true", help="skip the follow-up conversations (needs models/, see make train)"
    )
    parser.add_argument(
        "--no-cv", action="store_true", help="skip cross-validation (also: EVAL_CV=0): train once per system"
    )
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
        cross_validate = not args.no_cv and os.environ.get("EVAL_CV", "1") != "0"
        for name in names:  # a system that skips CV this time must not report an older run's
            (RESULTS / name / "cv.json").unlink(missing_ok=True)
        before = fingerprint()
        data_env = snapshot_data()
        load = [os.getloadavg()[0]]
        for name in names:
            timings[name] = run_system(name, data_env, cross_validate=cross_validate)
            load.append(os.getloadavg()[0])
        if "ours" in names and not args.no_follow_ups:
            started_follow_ups = time.perf_counter()
            if subprocess.run([sys.executable, "-m", "eval.follow_ups"], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode != 0:
                sys.exit(1)
            timings["follow_ups"] = time.perf_counter() - started_follow_ups
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

    trained = trained_sentences()
    summaries = {
        n: summarise(n, timings.get(n), trained) for n in SYSTEMS if (RESULTS / n / "heldout.json").exists()
    }
    write_json(RESULTS / "summary.json", summaries)
    pictures = plot_confusions(summaries, trained)
    write_report(summaries, pictures, total, timings)
    print(f"[eval] wrote {REPORT.relative_to(ROOT)} and {', '.join('reports/' + p for p in pictures)}")
    for name, s in summaries.items():
        if s.get("real_dev"):
            r = s["real_dev"]
            print(
                f"[eval] {name:18s} real customers: right at once {r['right_at_once']:.3f}, within one click "
                f"{r['within_one_click']:.3f}, wrong answers {_pct(r['wrong_answer_rate'])}, out of scope declined "
                f"{_declined(r)}"
            )
        cv = f"CV macro F1 {s['cv']['macro_f1']:.3f}" if s["cv"] else "no CV"
        print(
            f"[eval] {name:18s} blind macro F1 {s['blind']['macro_f1']:.3f} wrong answers "
            f"{_pct(s['blind']['wrong_answer_rate'])} | held-out macro F1 {s['heldout']['macro_f1']:.3f} | {cv} | "
            f"train {s['train_seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
