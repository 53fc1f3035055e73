#!/usr/bin/env python3
"""Per-signature parity of vigil's alerts with a reference engine's (issue 23).

  tools/parity/parity.py ../shared/parity/snort3-community.mixed-traffic.tsv LOGDIR/alert_fast.txt

The reference table (../shared/parity/*.tsv) holds one line per signature: sid, the reference's
alert count, msg. vigil's alerts are read from alert_fast.txt ("[gid:sid:rev]") or eve.json.
Prints the agreement, min(vigil, reference) summed over signatures, as a share of the
reference's alerts; the extra alerts (vigil above the reference) as a share of them; and every
signature whose counts differ by more than --tolerance alerts, largest difference first.
Exit status 0; with --min-agreement P, 1 when the agreement is below P percent.
"""
import argparse
import collections
import json
import re
import sys


def read_reference(path):
    counts, msgs = {}, {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            sid, n, *msg = line.rstrip("\n").split("\t")
            counts[int(sid)] = int(n)
            msgs[int(sid)] = msg[0] if msg else ""
    return counts, msgs


def read_alerts(path):
    counts = collections.Counter()
    fast = re.compile(r"\[\*\*\] \[(\d+):(\d+):\d+\]")
    with open(path) as f:
        for line in f:
            if path.endswith(".json"):
                ev = json.loads(line)
                if ev.get("event_type") == "alert":
                    counts[int(ev["alert"]["signature_id"])] += 1
            else:
                m = fast.search(line)
                if m:
                    counts[int(m.group(2))] += 1
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reference")
    ap.add_argument("alerts", help="alert_fast.txt or eve.json")
    ap.add_argument("--tolerance", type=int, default=2)
    ap.add_argument("--min-agreement", type=float)
    args = ap.parse_args()
    ref, msgs = read_reference(args.reference)
    got = read_alerts(args.alerts)
    total_ref = sum(ref.values())
    agree = sum(min(n, got.get(sid, 0)) for sid, n in ref.items())
    extra = sum(max(0, n - ref.get(sid, 0)) for sid, n in got.items())
    pct = 100.0 * agree / total_ref if total_ref else 100.0
    print(f"reference {total_ref} alerts, vigil {sum(got.values())}: agree on {agree} "
          f"({pct:.1f}%), extra {extra} ({100.0 * extra / max(1, total_ref):.1f}%)")
    diffs = []
    for sid in set(ref) | set(got):
        d = got.get(sid, 0) - ref.get(sid, 0)
        if abs(d) > args.tolerance:
            diffs.append((abs(d), sid, ref.get(sid, 0), got.get(sid, 0)))
    for _, sid, r, g in sorted(diffs, reverse=True):
        print(f"  sid {sid:>6}: reference {r:>5}  vigil {g:>5}  {msgs.get(sid, '')}")
    if args.min_agreement is not None and pct < args.min_agreement:
        sys.exit(1)


if __name__ == "__main__":
    main()
