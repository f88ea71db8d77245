"""The alert rules are valid and each one fires and clears as its promtool test says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "infra" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "infra" / "prometheus" / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"


def promtool() -> str:
    """Debian's promtool (``make prometheus`` installs it)."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run `make prometheus` (it installs Debian's "
                    "prometheus package)")
    return found


def _alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_rules() -> None:
    checked = subprocess.run([promtool(), "check", "rules", str(RULES)],  # noqa: S603
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in checked.stdout


def test_each_alert_fires_and_clears_in_promtool_tests() -> None:
    tested = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)],  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_test_that_sees_it_fire_and_one_that_sees_it_clear() -> None:
    """promtool passes a file that never mentions an alert: this keeps every alert tested."""
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {str(rule["alert"]) for rule in _alerts()}
    assert names - fired == set(), "alerts never seen firing"
    assert names - quiet == set(), "alerts never seen quiet (cleared or pending)"


def test_every_alert_has_a_runbook_section_in_the_operations_doc() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    for rule in _alerts():
        name = str(rule["alert"])
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert annotations["runbook"] == f"docs/operations.md#{name.lower()}"
        assert f"### {name}\n" in text, f"docs/operations.md has no section for {name}"
