#!/usr/bin/python3
"""stats.py - read a gateway's counters as `ocf stat --ipsec --raw` prints
them, for ipsecd_netns.sh.

usage: stats.py FILE get KIND:NAME:KEY ...   print the values (KIND = daemon,
                                            sa, policy, unmatched, card,
                                            producer; NAME = the name= field,
                                            or the dir= field for unmatched)
       stats.py FILE conserve              check that every packet the
                                            gateway took in is accounted for
                                            exactly once; prints what does
                                            not add up, exits 1 then"""
import sys


def parse(path):
    objs = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            d = {"kind": w[0]}
            for kv in w[1:]:
                k, _, v = kv.partition("=")
                d[k] = v
            objs.append(d)
    return objs


def num(v):
    return int(v, 0)


def find(objs, kind, name):
    for o in objs:
        if o["kind"] == kind and (o.get("name") == name or o.get("dir") == name or kind == "daemon"):
            return o
    raise SystemExit("stats.py: no %s %s" % (kind, name))


def total(o):
    """packets that passed plus every drop"""
    return num(o["packets"]) + sum(num(v) for k, v in o.items() if k.startswith("drop."))


def conserve(objs):
    d = find(objs, "daemon", "")
    bad = []
    pol = [o for o in objs if o["kind"] == "policy"]
    un = {o["dir"]: o for o in objs if o["kind"] == "unmatched"}
    # out: what the TUN gave = what the policies (or no policy) decided
    decided_out = sum(total(o) for o in pol if o["dir"] == "out") + total(un["out"])
    if num(d["tun_rx"]) != decided_out:
        bad.append("tun_rx %s != outbound verdicts %d" % (d["tun_rx"], decided_out))
    passed_out = sum(num(o["packets"]) for o in pol if o["dir"] == "out")
    if num(d["net_tx"]) + num(d["send_err"]) != passed_out:
        bad.append("net_tx %s + send_err %s != outbound passed %d" % (d["net_tx"], d["send_err"], passed_out))
    # in: what the sockets gave = what SAs, policies or nothing decided; a
    # packet is counted on its SA when it failed there, else on its policy
    sa_fail = sum(total(o) - num(o["packets"]) for o in objs if o["kind"] == "sa" and o["dir"] == "in")
    decided_in = (sum(total(o) for o in pol if o["dir"] == "in") + total(un["in"]) + sa_fail
                  + num(d["ike"]))
    got = num(d["net_rx"]) - num(d["oversize"])
    if got != decided_in:
        bad.append("net_rx %d != inbound verdicts %d" % (got, decided_in))
    passed_in = sum(num(o["packets"]) for o in pol if o["dir"] == "in") + num(un["in"]["packets"])
    if num(d["tun_tx"]) + num(d["tun_err"]) != passed_in:
        bad.append("tun_tx %s + tun_err %s != inbound passed %d"
                   % (d["tun_tx"], d["tun_err"], passed_in))
    for k in ("pool_used", "inflight"):
        if num(d[k]) != 0:
            bad.append("%s = %s after the traffic stopped" % (k, d[k]))
    return bad


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    objs = parse(sys.argv[1])
    if sys.argv[2] == "get":
        for q in sys.argv[3:]:
            kind, name, key = q.split(":", 2)
            print(find(objs, kind, name)[key])
    elif sys.argv[2] == "conserve":
        bad = conserve(objs)
        for b in bad:
            print(b)
        sys.exit(1 if bad else 0)
    else:
        raise SystemExit(__doc__)


main()
