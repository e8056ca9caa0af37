#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pass/fail counts for the test scripts: prints "PASSED FAILED".

    counts.py meson BUILD/meson-logs/testlog.json [JUNIT_DIR]
    counts.py junit FILE.xml|DIR

meson: every GTest case (a TAP line of the test's output) counts; a test
that failed without a failed case (a crash, a timeout) counts one failure, a
test without TAP output counts one. A test of the 'integration' suite (one
pytest file) counts its cases from JUNIT_DIR/<test name>.xml, plus one
failure if it failed without a failed case or wrote no report. junit:
pytest's report (or every *.xml of DIR); skipped tests count as failed (the
tests here never skip). A missing file gives "0 0".
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def meson(path, junit_dir=None):
    ok = bad = 0
    try:
        with open(path) as f:
            lines = [l for l in (line.strip() for line in f) if l]
    except FileNotFoundError:
        return 0, 0
    for line in lines:
        entry = json.loads(line)
        result = entry.get("result", "")
        suite, _, name = entry.get("name", "").partition(" / ")
        if suite.endswith(":integration") and junit_dir is not None:
            report = os.path.join(junit_dir, name + ".xml")
            passed, failed = junit(report)
            ok += passed
            bad += failed
            if (result != "OK" and failed == 0) or not os.path.exists(report):
                bad += 1  # a crash, a timeout, a collection error: no failed case
            continue
        cases = [l for l in (entry.get("stdout") or "").splitlines()
                 if l.startswith("ok ") or l.startswith("not ok ")]
        passed = sum(1 for l in cases if l.startswith("ok ") and "# SKIP" not in l)
        ok += passed
        bad += len(cases) - passed
        if result not in ("OK", "EXPECTEDFAIL") and len(cases) == passed:
            bad += 1  # FAIL, ERROR, TIMEOUT, SKIP, UNEXPECTEDPASS with no failed case
        elif not cases and result in ("OK", "EXPECTEDFAIL"):
            ok += 1
    return ok, bad


def junit(path):
    if os.path.isdir(path):
        totals = [junit(os.path.join(path, f)) for f in sorted(os.listdir(path))
                  if f.endswith(".xml")]
        return sum(t[0] for t in totals), sum(t[1] for t in totals)
    try:
        root = ET.parse(path).getroot()
    except (FileNotFoundError, ET.ParseError):
        return 0, 0
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    ok = bad = 0
    for s in suites:
        n = int(s.get("tests", 0))
        b = sum(int(s.get(k, 0)) for k in ("failures", "errors", "skipped"))
        ok += n - b
        bad += b
    return ok, bad


if __name__ == "__main__":
    kind, paths = sys.argv[1], sys.argv[2:]
    print(*{"meson": meson, "junit": junit}[kind](*paths))
