#!/usr/bin/env python3
"""Logging TCP proxy for the RocketMQ remoting protocol (debugging aid for the compat suite).

    python3 test/compat/wirelog.py --ns LISTEN:TARGET --broker LISTEN:TARGET --out wire.jsonl

Listens on 127.0.0.1:LISTEN for the name server and the broker and forwards to 127.0.0.1:TARGET.
Name-server response bodies have "127.0.0.1:<broker TARGET>" rewritten to the broker LISTEN port,
so clients that follow routes keep talking through the proxy. Every frame is decoded (JSON or
ROCKETMQ binary header) and written as one JSON line; on SIGINT/SIGTERM a summary of request codes
and the header fields seen with each is printed to stderr.
"""
import argparse
import asyncio
import json
import signal
import struct
import sys
import time
from collections import defaultdict

SUMMARY = defaultdict(lambda: {"count": 0, "fields": set(), "resp": defaultdict(int), "where": set()})
PENDING = {}  # (conn id, opaque) -> request code


def decode_header(buf):
    word = struct.unpack(">i", buf[0:4])[0]
    stype = (word >> 24) & 0xFF
    hlen = word & 0xFFFFFF
    raw = buf[4:4 + hlen]
    body = buf[4 + hlen:]
    if stype == 0:
        h = json.loads(raw.decode("utf-8"))
    else:
        code, lang, ver, opaque, flag = struct.unpack(">hbhii", raw[0:13])
        p = 13
        rlen = struct.unpack(">i", raw[p:p + 4])[0]; p += 4
        remark = raw[p:p + rlen].decode() if rlen > 0 else None; p += max(rlen, 0)
        elen = struct.unpack(">i", raw[p:p + 4])[0]; p += 4
        ext, end = {}, p + elen
        while p < end:
            kl = struct.unpack(">h", raw[p:p + 2])[0]; p += 2
            k = raw[p:p + kl].decode(); p += kl
            vl = struct.unpack(">i", raw[p:p + 4])[0]; p += 4
            ext[k] = raw[p:p + vl].decode(); p += vl
        h = {"code": code, "language": lang, "version": ver, "opaque": opaque, "flag": flag, "remark": remark, "extFields": ext}
    h["_serialize"] = "JSON" if stype == 0 else "ROCKETMQ"
    return h, body


async def pipe(reader, writer, direction, where, cid, out, rewrite):
    buf = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 4:
                n = struct.unpack(">i", buf[0:4])[0]
                if len(buf) < 4 + n:
                    break
                frame, buf = buf[4:4 + n], buf[4 + n:]
                try:
                    h, body = decode_header(frame)
                except Exception as e:  # forward undecodable frames untouched
                    writer.write(struct.pack(">i", n) + frame)
                    out.write(json.dumps({"t": time.time(), "where": where, "dir": direction, "error": str(e)}) + "\n")
                    continue
                if rewrite and body:
                    for old, new in rewrite:
                        body = body.replace(old, new)
                    hlen = struct.unpack(">i", frame[0:4])[0] & 0xFFFFFF
                    frame = frame[0:4 + hlen] + body
                writer.write(struct.pack(">i", len(frame)) + frame)
                is_resp = (h.get("flag", 0) & 1) == 1
                rec = {"t": round(time.time(), 3), "where": where, "conn": cid, "dir": direction,
                       "code": h.get("code"), "opaque": h.get("opaque"), "flag": h.get("flag"),
                       "lang": h.get("language"), "ver": h.get("version"), "ser": h["_serialize"],
                       "remark": h.get("remark"), "ext": h.get("extFields"), "bodyLen": len(body)}
                if not is_resp:
                    key = (where, h.get("code"), direction)
                    s = SUMMARY[key]
                    s["count"] += 1
                    s["fields"].update((h.get("extFields") or {}).keys())
                    PENDING[(cid, direction, h.get("opaque"))] = key
                    if h.get("code") in (103, 105, 34, 35, 36, 38) and body and len(body) < 4000:
                        rec["body"] = body.decode("utf-8", "replace")
                else:
                    key = PENDING.pop((cid, "s2c" if direction == "c2s" else "c2s", h.get("opaque")), None)
                    if key:
                        rec["reqCode"] = key[1]
                        SUMMARY[key]["resp"][h.get("code")] += 1
                        if key[1] in (105, 38, 34, 36) and body and len(body) < 4000:
                            rec["body"] = body.decode("utf-8", "replace")
                out.write(json.dumps(rec) + "\n")
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


CONN = [0]


def handler(where, target, out, rewrite):
    async def handle(cr, cw):
        CONN[0] += 1
        cid = CONN[0]
        try:
            sr, sw = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, "c2s", where, cid, out, None),
                             pipe(sr, cw, "s2c", where, cid, out, rewrite))
    return handle


def print_summary():
    print("%-8s %-4s %-5s %6s  %-24s %s" % ("where", "dir", "code", "count", "responses", "header fields"), file=sys.stderr)
    for (where, code, direction), s in sorted(SUMMARY.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1] or 0)):
        print("%-8s %-4s %-5s %6d  %-24s %s" % (where, direction, code, s["count"],
              ",".join("%s:%d" % kv for kv in sorted(s["resp"].items())), " ".join(sorted(s["fields"]))), file=sys.stderr)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", required=True, help="LISTEN:TARGET ports of the name server")
    ap.add_argument("--broker", required=True, help="LISTEN:TARGET ports of the broker")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    nsl, nst = map(int, a.ns.split(":"))
    brl, brt = map(int, a.broker.split(":"))
    out = open(a.out, "w", buffering=1)
    rewrite = [(b"127.0.0.1:%d" % brt, b"127.0.0.1:%d" % brl)]
    s1 = await asyncio.start_server(handler("namesrv", nst, out, rewrite), "127.0.0.1", nsl)
    s2 = await asyncio.start_server(handler("broker", brt, out, None), "127.0.0.1", brl)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("wirelog: namesrv %d->%d broker %d->%d" % (nsl, nst, brl, brt), file=sys.stderr, flush=True)
    await stop.wait()
    s1.close()
    s2.close()
    print_summary()
    out.close()


if __name__ == "__main__":
    asyncio.run(main())
