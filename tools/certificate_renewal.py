"""Fail when a certificate of a deployed stack is due for renewal: the scheduled certificates workflow runs this after
its weekly `pulumi preview` of prod, with the stack's outputs the preview step exposes.

    TLS_CERTIFICATE_EXPIRY='{"ca": "2035-...Z", "redis-master-0": "2026-...Z", ...}' TLS_ON=true \
        venv/bin/python -m tools.certificate_renewal

TLS_CERTIFICATE_EXPIRY is the tlsCertificateExpiry output (JSON; empty when the stack has none), TLS_ON whether the
stack has the tlsCaCert output. Exit 0: nothing due; 1: a node certificate is within EARLY_RENEWAL_DAYS +
RENEWAL_NOTICE_DAYS of its end (`pulumi up` renews it from EARLY_RENEWAL_DAYS before: the run says from when), a
CA (the signing one, `ca`, or during a rotation the other one trusted, `ca-gen<N>`) within CA_NOTICE_DAYS (it is not
renewed by `pulumi up`: docs/security.md, "Rotating the CA"), or the output is missing or malformed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from components import tls
from components.certificates import CA_LABEL, is_ca_label

NODE_DUE_DAYS = tls.EARLY_RENEWAL_DAYS + tls.RENEWAL_NOTICE_DAYS
# A CA rotation is three deploys and a move of every application (docs/security.md): start it a quarter ahead.
CA_NOTICE_DAYS = 90


def problems(expiry_json: str, tls_on: bool, now: datetime.datetime) -> tuple[list[str], list[str]]:
    """(what was found, one line per certificate; what is due or wrong, one line each)."""
    if not expiry_json.strip():
        if not tls_on:
            return ["tls is off on this stack: no certificates"], []
        return [], [
            "the stack has tlsCaCert but no tlsCertificateExpiry output: it was last deployed before the output "
            "existed; deploy it once (the apply workflow) so its certificates can be watched"
        ]
    try:
        expiry = {label: tls.parse_time(text) for label, text in json.loads(expiry_json).items()}
    except (ValueError, AttributeError, TypeError) as error:
        return [], [f"tlsCertificateExpiry = {expiry_json!r}: not a JSON object of RFC 3339 times ({error})"]
    found, due = [], []
    for label, not_after in sorted(expiry.items(), key=lambda item: item[1]):
        days = tls.days_left(not_after, now)
        found.append(f"{label}: expires {not_after:%Y-%m-%d %H:%M} UTC, {days:.1f} days left")
        renewal_opens = not_after - datetime.timedelta(days=tls.EARLY_RENEWAL_DAYS)
        alert = not_after - datetime.timedelta(days=tls.EXPIRY_ALERT_DAYS)
        if label == CA_LABEL and days <= CA_NOTICE_DAYS:
            due.append(
                f"the CA expires in {days:.1f} days ({not_after:%Y-%m-%d}): `pulumi up` does not renew it; rotate "
                "it now (docs/security.md, 'Rotating the CA')"
            )
        elif is_ca_label(label) and days <= CA_NOTICE_DAYS:
            due.append(
                f"{label}, a CA trusted beside the signing one, expires in {days:.1f} days ({not_after:%Y-%m-%d}): "
                "finish the CA rotation under way, whose last step drops it (docs/security.md, 'Rotating the CA')"
            )
        elif not is_ca_label(label) and days <= NODE_DUE_DAYS:
            when = "now" if renewal_opens <= now else f"from {renewal_opens:%Y-%m-%d %H:%M} UTC"
            due.append(
                f"{label} expires in {days:.1f} days ({not_after:%Y-%m-%d}): run the apply workflow by hand "
                f"(`pulumi up -s prod`), which renews it {when} and rolls the pods (one failover), before "
                f"{alert:%Y-%m-%d}, when RedisCertificateExpiresSoon fires (docs/operations.md, 'A certificate "
                "expires soon')"
            )
    return found, due


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.certificate_renewal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--now", help="the time to judge at (RFC 3339; default: now)")
    args = parser.parse_args(argv)
    now = tls.parse_time(args.now) if args.now else datetime.datetime.now(datetime.UTC)
    found, due = problems(os.environ.get("TLS_CERTIFICATE_EXPIRY", ""), os.environ.get("TLS_ON", "true") == "true", now)
    for line in found:
        print(f"certificates: {line}")
    for line in due:
        print(f"certificates: DUE: {line}", file=sys.stderr)
    if not due:
        print(f"certificates: none due (node certificates within {NODE_DUE_DAYS} days, the CA within {CA_NOTICE_DAYS})")
    return 1 if due else 0


if __name__ == "__main__":
    sys.exit(main())
