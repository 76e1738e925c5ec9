#!/usr/bin/env python3
"""Compares `tunnelscope correlate --json` with bench_gen_pairs' truth JSON: every count must be
equal. Usage: compare_truth.py TRUTH.json CORRELATE.json  (exit 1 and the differences when not)."""
import json
import sys

truth = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
bad = []


def eq(what, t, g):
    if t != g:
        bad.append(f"{what}: truth {t}, correlate {g}")


keys = ["sent", "received", "matched", "lost", "outside", "received_only", "duplicated", "reordered"]
gs = {s["spi"]: s for s in got["spis"]}
eq("number of SPIs", len(truth["spis"]), len(gs))
for s in truth["spis"]:
    g = gs.get(s["spi"])
    if g is None:
        bad.append(f"SPI {s['spi']} missing")
        continue
    eq(f"SPI {s['spi']} direction", s["direction"], g["direction"])
    for k in keys:
        eq(f"SPI {s['spi']} {k}", s[k], g[k])
for t, g in zip(truth["directions"], got["directions"]):
    d = t["direction"]
    eq(f"{d} direction", d, g["direction"])
    eq(f"{d} spis", t["spis"], g["spis"])
    for k in keys:
        eq(f"{d} {k}", t[k], g[k])
    eq(f"{d} late", 0, g["late"])
    for i, (tb, gb) in enumerate(zip(t["by_size"], g["by_size"])):
        for k in ("sent", "received", "lost"):
            eq(f"{d} size bucket {i} {k}", tb[k], gb[k])
ab, ba = got["directions"]
eq("keepalives sent by a", truth["keepalives"]["sent"], got["ends"]["a"]["keepalives_sent"])
eq("keepalives received by b", truth["keepalives"]["received"], got["ends"]["b"]["keepalives_received"])
ti = truth["ike"]
eq("ike requests sent", ti["requests_sent"], ab["ike"]["requests_sent"])
eq("ike requests received", ti["requests_received"], ab["ike"]["requests_received"])
eq("ike requests matched", ti["requests_matched"], ab["ike"]["requests_matched"])
eq("ike responses sent", ti["responses_sent"], ba["ike"]["responses_sent"])
eq("ike responses received", ti["responses_received"], ba["ike"]["responses_received"])
eq("ike responses matched", ti["responses_matched"], ba["ike"]["responses_matched"])
eq("packets a", truth["packets"]["a"], got["ends"]["a"]["packets"])
eq("packets b", truth["packets"]["b"], got["ends"]["b"]["packets"])
eq("nat changes seen by b", truth["nat_changes"], len([n for n in got["nat_changes"] if n["end"] == "b"]))
eq("nat changes seen by a", 0, len([n for n in got["nat_changes"] if n["end"] == "a"]))
if truth["nat_changes"]:
    eq("last nat change time", truth["nat_change_ts_ns"], [n for n in got["nat_changes"] if n["end"] == "b"][-1]["ts_ns"])
off_err = abs(got["clock"]["offset_ns"] - truth["offset_ns"])
if off_err > 1_000_000:
    bad.append(f"clock offset {got['clock']['offset_ns']} vs truth {truth['offset_ns']}")
eq("local a", "10.1.0.2", got["ends"]["a"]["local"])
eq("local b", "198.51.100.20", got["ends"]["b"]["local"])
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"truth == correlate: {ab['sent']} + {ba['sent']} packets sent, {ab['lost']} / {ba['lost']} lost, "
      f"offset error {off_err} ns")
