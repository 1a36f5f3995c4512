"""Live chat across replicas: the agent's API is on the page server, the customer's socket on one Rasa
replica. That replica is SIGKILLed in the middle of the chat; the customer's client reconnects through
nginx to the other replica, which delivers every message the agent sent meanwhile, in order."""

from __future__ import annotations

import json
import urllib.request

from devtools.cluster import Cluster
from devtools.live_chat_clients import Customer, Ops, buttons
from tests.cluster.test_cluster_webchat import replica_holding


def replica_for_this_address(cluster: Cluster) -> int:
    """The replica nginx sends this machine's socket.io sessions to (the test's client has no cookie, so
    nginx hashes on the address): a fresh handshake through nginx, then the replica that knows it. Probing
    the customer's own session instead would break its pending long poll."""
    with urllib.request.urlopen(f"{cluster.url}/socket.io/?EIO=4&transport=polling", timeout=10) as response:
        body = response.read().decode()
    return replica_holding(cluster, [json.loads(body[body.index("{"):])["sid"]])


def test_a_replica_killed_during_a_live_chat_loses_no_message(cluster):
    ops = Ops(cluster.url)
    agent = ops.new_agent("小林", ["alipay"])
    customer = Customer(cluster.url)
    try:
        card = customer.wait_for("95188", customer.say("支付宝的人工客服怎么找"))
        customer.wait_for("第 1 位", customer.say(buttons(card)["在线人工"]))
        ops.ok("POST", "agent/take", agent, {"conversation": customer.conversation})
        customer.wait_for("客服小林已接入")
        conversation = f"agent/conversations/{customer.conversation}/messages"
        ops.ok("POST", conversation, agent, {"text": "您好，请问转出了多少钱"})
        customer.wait_for("您好，请问转出了多少钱")

        holder = replica_for_this_address(cluster)
        socket_before = customer.client.eio.sid
        cluster.kill_replica(holder)
        # Sent while the customer's replica is dead: delivered by the other one once the client is back.
        sent = ["第一条：请稍等", "第二条：已为您查到记录", "第三条：钱会在两小时内到账"]
        for text in sent:
            ops.ok("POST", conversation, agent, {"text": text})
        customer.wait_for("第三条")
        assert [t for t in customer.texts() if "条：" in t] == [f"客服小林：{text}" for text in sent]

        # The chat goes on from the other replica, both ways; the bot stays paused.
        before = customer.say("好的，谢谢")
        said = ops.wait_for_message(agent, customer.conversation, "好的，谢谢", "customer")
        assert said["from"] == "customer"
        ops.ok("POST", f"agent/conversations/{customer.conversation}/end", agent)
        ended = customer.wait_for("请为本次服务评价", before)
        assert list(buttons(ended)) == ["满意", "一般", "不满意"]
        assert customer.texts(before) == [ended["text"]]
        assert customer.client.eio.sid != socket_before  # it did reconnect
    finally:
        customer.close()
        ops.call("POST", "agent/status", agent, {"online": False})
    cluster.wait_replica_up(holder, timeout=300)
