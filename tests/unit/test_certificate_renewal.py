"""tools/certificate_renewal.py: when the scheduled certificates workflow fails, judged from tlsCertificateExpiry."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest

from components import tls
from harness.program import ROOT, run_program
from tools.certificate_renewal import CA_NOTICE_DAYS, NODE_DUE_DAYS, problems

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def at(days: float) -> str:
    return (NOW + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry(**days: float) -> str:
    return json.dumps({"ca": at(3000), **{label.replace("_", "-"): at(d) for label, d in days.items()}})


def test_node_certificates_are_due_a_week_before_pulumi_up_would_renew_them():
    assert NODE_DUE_DAYS == 37
    assert problems(expiry(redis_master_0=37.1, redis_sentinel_0=364), True, NOW)[1] == []
    found, due = problems(expiry(redis_master_0=36.9, redis_sentinel_0=364), True, NOW)
    assert found[0] == "redis-master-0: expires 2026-04-07 09:36 UTC, 36.9 days left"  # the soonest first
    [line] = due
    assert line.startswith("redis-master-0 expires in 36.9 days (2026-04-07): run the apply workflow by hand")
    assert (
        "renews it from 2026-03-08 09:36 UTC" in line and "before 2026-03-17, when RedisCertificateExpiresSoon" in line
    )
    [line] = problems(expiry(redis_master_0=20), True, NOW)[1]
    assert "renews it now" in line


def test_the_ca_is_due_a_quarter_ahead_because_pulumi_up_does_not_renew_it():
    text = json.dumps({"ca": at(CA_NOTICE_DAYS - 1), "redis-master-0": at(300)})
    [line] = problems(text, True, NOW)[1]
    assert line.startswith("the CA expires in 89.0 days") and "Rotating the CA" in line


def test_during_a_ca_rotation_the_other_trusted_ca_is_due_as_a_ca_not_as_a_node():
    """tlsCaGenerations 2+1: `ca` is generation 2 (it signs), `ca-gen1` the old one, still trusted."""
    text = json.dumps({"ca": at(3650), "ca-gen1": at(CA_NOTICE_DAYS - 1), "redis-master-0": at(300)})
    [line] = problems(text, True, NOW)[1]  # 89 days: not due for a node (37), due for a CA
    assert line.startswith("ca-gen1, a CA trusted beside the signing one, expires in 89.0 days")
    assert "finish the CA rotation" in line and "Rotating the CA" in line
    assert problems(json.dumps({"ca": at(3650), "ca-gen1": at(CA_NOTICE_DAYS + 1)}), True, NOW)[1] == []


def test_a_tls_stack_without_the_output_or_with_a_bad_one_fails_and_a_plain_one_passes():
    assert problems("", False, NOW) == (["tls is off on this stack: no certificates"], [])
    [line] = problems("", True, NOW)[1]
    assert "no tlsCertificateExpiry output" in line and "deploy it once" in line
    [line] = problems('{"ca": "next year"}', True, NOW)[1]
    assert line.startswith('tlsCertificateExpiry = \'{"ca": "next year"}\': not a JSON object of RFC 3339 times')


@pytest.mark.parametrize(("days", "code"), [(320, 0), (340, 1)])
def test_the_command_on_the_prod_stacks_own_output_a_given_number_of_days_after_the_deploy(days, code):
    """The output as the program exports it (mocked pulumi-tls: certificates valid a year from now), judged `days`
    later: 320 days on, 45 are left (due from 37); 340 days on, 25 are left."""
    outputs = run_program("prod").outputs
    now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    env = {**os.environ, "TLS_CERTIFICATE_EXPIRY": json.dumps(outputs["tlsCertificateExpiry"]), "TLS_ON": "true"}
    now_text = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    done = subprocess.run(
        [sys.executable, "-m", "tools.certificate_renewal", "--now", now_text],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.count("days left") == 7  # the CA and the six nodes
    if code:
        assert done.stderr.count("DUE: ") == 6 and "redis-sentinel-2 expires in" in done.stderr
    assert tls.EARLY_RENEWAL_DAYS == 30
