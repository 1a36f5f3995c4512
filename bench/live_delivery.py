"""Live chat: the time from an agent's send to the customer's socket, under `make cluster` with many chats at
once, with the Redis signal (common/live_signal.py) and, in the same conditions, with the store polled every
second as before (LIVE_CHAT_REDIS_URL empty).

    python -m bench.live_delivery [--chats 32] [--messages 5] [--report reports/live-delivery.md]

For each mode: start `make cluster` (2 replicas, devtools/cluster.py) on free ports; agents (8 chats at once
each) take `--chats` customers (socket.io clients through nginx, devtools/live_chat_clients.py) who asked for
a person on the chat page's channel; then every agent-customer pair exchanges `--messages` messages at once, a
pause of 0.2-0.6 s (an agent typing) before each: the time from just before the agent's POST to the message
arriving at the customer's client. p50, p95 and the worst, side by side, into the report.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List

from devtools.cluster import Cluster
from devtools.live_chat_clients import OPS_TOKEN, Customer, Ops, buttons
from devtools.servers import NO_RATE_LIMITS, ROOT

CHATS_PER_AGENT = 8


class TimedCustomer(Customer):
    """A customer whose client notes when each message arrived."""

    def __init__(self, url: str):
        self.arrivals: Dict[str, float] = {}
        super().__init__(url)

    def _on_bot_uttered(self, message: Dict[str, Any]) -> None:
        self.arrivals[message.get("text") or ""] = time.monotonic()
        super()._on_bot_uttered(message)

    def arrival_of(self, fragment: str) -> float:
        self.wait_for(fragment)
        return next(at for text, at in list(self.arrivals.items()) if fragment in text)


def percentile(values: List[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def measure(signal: bool, chats: int, messages: int) -> Dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="cs-live-delivery-"))
    env = {**NO_RATE_LIMITS, "OPS_TOKEN": OPS_TOKEN, **({} if signal else {"LIVE_CHAT_REDIS_URL": ""})}
    cluster = Cluster(workdir=workdir, extra_env=env).start()
    customers: List[TimedCustomer] = []
    try:
        ops = Ops(cluster.url)
        agents = []
        for number in range((chats + CHATS_PER_AGENT - 1) // CHATS_PER_AGENT):
            token = ops.ok("POST", "agents", OPS_TOKEN, {"name": f"坐席{number}", "services": ["alipay"],
                                                        "max_chats": CHATS_PER_AGENT})["token"]
            ops.ok("POST", "agent/status", token, {"online": True})
            agents.append(token)
        beat_stop = threading.Event()

        def heartbeat() -> None:  # the agents' consoles are open
            while not beat_stop.wait(5):
                for token in agents:
                    ops.call("GET", "agent/me", token)

        threading.Thread(target=heartbeat, daemon=True).start()

        def join(_: int) -> TimedCustomer:
            customer = TimedCustomer(cluster.url)
            card = customer.wait_for("95188", customer.say("支付宝的人工客服怎么找"))
            customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
            return customer

        with ThreadPoolExecutor(8) as pool:
            customers = list(pool.map(join, range(chats)))
        pairs = [(agents[index // CHATS_PER_AGENT], customer) for index, customer in enumerate(customers)]
        for token, customer in pairs:
            ops.ok("POST", "agent/take", token, {"conversation": customer.conversation})

        def exchange(pair: Any) -> List[float]:
            token, customer = pair
            times = []
            for number in range(messages):
                time.sleep(random.uniform(0.2, 0.6))
                marker = f"第{number}条 {customer.conversation[-6:]}"
                started = time.monotonic()
                ops.ok("POST", f"agent/conversations/{customer.conversation}/messages", token, {"text": marker})
                times.append(customer.arrival_of(marker) - started)
            return times

        with ThreadPoolExecutor(chats) as pool:
            delays = [delay for times in pool.map(exchange, pairs) for delay in times]
        beat_stop.set()
        result = {"mode": "Redis signal" if signal else "polling every second", "chats": chats,
                  "messages": len(delays), "p50_ms": round(statistics.median(delays) * 1000),
                  "p95_ms": round(percentile(delays, 0.95) * 1000), "max_ms": round(max(delays) * 1000)}
    finally:
        for customer in customers:
            customer.close()
        cluster.stop()
    shutil.rmtree(workdir)  # kept (logs, database) when the run failed
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=32)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "live-delivery.md")
    args = parser.parse_args()
    rows = [measure(True, args.chats, args.messages), measure(False, args.chats, args.messages)]
    print(json.dumps(rows, ensure_ascii=False))
    lines = ["# Live chat: from an agent's send to the customer's screen", "",
             f"`python -m bench.live_delivery --chats {args.chats} --messages {args.messages}`, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `make cluster` with 2 replicas on this "
             "machine (shared with other work), socket.io customers through nginx, agents on the page server's "
             "API; the time from just before the agent's POST to the message arriving at the customer's client.",
             "", "| delivery | live chats at once | messages | p50 | p95 | worst |", "|---|---|---|---|---|---|"]
    lines += [f"| {row['mode']} | {row['chats']} | {row['messages']} | {row['p50_ms']} ms | {row['p95_ms']} ms | "
              f"{row['max_ms']} ms |" for row in rows]
    lines += ["", "With the signal, a Rasa replica sends an agent's message as soon as the page server has stored it "
              "(Redis pub/sub, `common/live_signal.py`); the store stays the truth and a slow round every 5 s "
              "catches a lost signal. Polling is the same code with `LIVE_CHAT_REDIS_URL` empty (as under "
              "`make run`, one process)."]
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
