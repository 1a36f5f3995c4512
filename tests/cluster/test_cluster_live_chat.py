"""Live chat across replicas: the agent's API is on the page server, the customer's socket on one Rasa
replica. That replica is SIGKILLed in the middle of the chat; the customer's client reconnects through
nginx to the other replica, which delivers every message the agent sent meanwhile, in order."""

from __future__ import annotations

import json
import time
import urllib.request

import socketio

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


def reconnected(customer: Customer, socket_before: str, timeout: float = 120) -> None:
    """Waits until the customer's client is connected again, on a new socket (through nginx, to a live replica;
    on a loaded machine the client's back-off and a replica restarting meanwhile can take a minute)."""
    deadline = time.monotonic() + timeout
    while not (customer.client.connected and customer.client.eio.sid != socket_before):
        assert time.monotonic() < deadline, "the customer's client did not reconnect"
        time.sleep(0.2)


def new_customer(cluster: Cluster) -> Customer:
    """A customer's page; retried, because right after a replica came back, nginx may route the handshake of a
    new page to it before its socket.io server accepts sessions (the page itself would simply reconnect)."""
    for attempt in range(3):
        try:
            return Customer(cluster.url)
        except socketio.exceptions.ConnectionError:
            if attempt == 2:
                raise
            time.sleep(3)
    raise AssertionError("unreachable")


def test_a_replica_killed_during_a_ticket_loses_nothing(cluster):
    """留言 (issue 28) across a replica's death: the draft lives in PostgreSQL, so the other replica carries on:
    the callback number given after the kill completes the 留言, and the agent's reply reaches the customer."""
    ops = Ops(cluster.url)
    agent = ops.new_agent("小邓", ["tianxing_loan"], online=False)
    customer = new_customer(cluster)
    try:
        card = customer.wait_for("400-100-3399", customer.say("天星金融的人工客服电话"))
        customer.wait_for("写下您遇到的问题", customer.say(buttons(card)["留言"]))
        customer.wait_for("回电", customer.say("借款提前还了但是还在扣款"))
        holder = replica_for_this_address(cluster)
        socket_before = customer.client.eio.sid
        cluster.kill_replica(holder)
        reconnected(customer, socket_before)
        done = customer.wait_for("编号", customer.say("13700001111"))
        number = int(done["text"].split("编号 ")[1].split("。")[0])
        assert "智能客服继续为您服务" in done["text"]
        [ticket] = [t for t in ops.ok("GET", "tickets", agent)["items"] if t["id"] == number]
        assert ticket["text"] == "借款提前还了但是还在扣款" and ticket["phone"] == "137****1111"
        ops.ok("POST", f"tickets/{number}/reply", agent, {"text": "已停止扣款"})
        assert "已停止扣款" in customer.wait_for(f"回复了您的留言（编号 {number}）")["text"]
    finally:
        customer.close()
    cluster.wait_replica_up(holder, timeout=300)


def test_a_replica_killed_during_a_transfer_loses_nothing(cluster):
    """A transfer made while the customer's replica is dead reaches them, and so do the new agent's messages."""
    ops = Ops(cluster.url)
    first = ops.new_agent("小何", ["tianxing_loan"])
    second = ops.new_agent("小许", ["tianxing_loan"])
    customer = new_customer(cluster)
    try:
        card = customer.wait_for("400-100-3399", customer.say("天星金融的人工客服电话"))
        customer.wait_for("排队", customer.say(buttons(card)["在线人工"]))
        ops.ok("POST", "agent/take", first, {"conversation": customer.conversation})
        customer.wait_for("客服小何已接入")
        second_id = next(a["id"] for a in ops.ok("GET", "agent/colleagues", first)["agents"] if a["name"] == "小许")
        holder = replica_for_this_address(cluster)
        socket_before = customer.client.eio.sid
        cluster.kill_replica(holder)
        conversation = f"agent/conversations/{customer.conversation}"
        ops.ok("POST", f"{conversation}/transfer", first, {"agent": second_id})
        ops.ok("POST", f"{conversation}/messages", second, {"text": "我是小许，接着为您处理"})
        reconnected(customer, socket_before)
        customer.wait_for("已为您转接客服小许")
        customer.wait_for("我是小许，接着为您处理")
        customer.say("好的")
        ops.wait_for_message(second, customer.conversation, "好的", "customer")
        ops.ok("POST", f"{conversation}/end", second)
        customer.wait_for("请为本次服务评价")
    finally:
        customer.close()
        for token in (first, second):
            ops.call("POST", "agent/status", token, {"online": False})
    cluster.wait_replica_up(holder, timeout=300)
