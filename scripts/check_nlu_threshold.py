"""Fails when the macro F1 in a Rasa intent report (held-out or blind file) is below a threshold.

Usage: python scripts/check_nlu_threshold.py results/heldout/intent_report.json 0.90
"""

import json
import sys


def main(report_path: str, minimum: float) -> int:
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    macro_f1 = report["macro avg"]["f1-score"]
    print(f"{report_path}: accuracy {report['accuracy']:.3f}, macro F1 {macro_f1:.3f} (minimum {minimum})")
    return 0 if macro_f1 >= minimum else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
