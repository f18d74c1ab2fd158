"""Drives the Sluice web console in headless Chromium (Debian's chromium and
chromedriver, through selenium): loads each view, waits until it has drawn,
reads the numbers the page shows (from its data-* attributes and ids), saves
a screenshot of each, and prints what it read as one JSON object. BASE_URL's
broker has write actions on: the script creates a topic with the page's
form. READ_ONLY_URL's broker has them off: the script checks its forms are
disabled and that a POST from the page is refused.

    python browser.py BASE_URL SCREENSHOT_DIR TOPIC READ_ONLY_URL NEW_TOPIC
"""
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, shots, topic, read_only, new_topic = sys.argv[1:6]
os.environ.setdefault("SE_OFFLINE", "true")  # never download a driver

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1400,900"]:
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
seen = {}


def open_view(hash_, view, at=None, shot=None):
    driver.get((at or base) + "/#" + hash_)
    driver.refresh()  # a hash change alone may not reload between views
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "view").get_attribute("data-view") in (view, "error"))
    if driver.find_element(By.ID, "view").get_attribute("data-view") == "error":
        raise SystemExit("the %s view failed: %s" % (view, driver.find_element(By.ID, "error").text))
    driver.save_screenshot(os.path.join(shots, (shot or view) + ".png"))


def text(id_):
    return driver.find_element(By.ID, id_).text


try:
    open_view("/cluster", "cluster")
    seen["cluster"] = {
        "controller": int(text("controller-id")),
        "partitions": int(text("partition-count")),
        "under_replicated": int(text("under-replicated")),
        "offline": int(text("offline")),
        "brokers": sorted(int(r.get_attribute("data-broker"))
                          for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-broker]")),
        "live": sorted(int(r.get_attribute("data-broker"))
                       for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-broker]")
                       if r.find_element(By.CSS_SELECTOR, "td[data-live]").get_attribute("data-live") == "true"),
    }

    # Live charts: every broker's rates after two polls, bytes in from the
    # test's producer running meanwhile.
    open_view("/traffic", "traffic")

    # Polled views redraw themselves: read each in one script call.
    def rates(d):
        got = d.execute_script("""
            const rows = [...document.querySelectorAll("#traffic tr[data-broker]")];
            const chart = document.getElementById("chart-bytes-in");
            return {points: chart ? Number(chart.getAttribute("data-points")) : 0,
              brokers: Object.fromEntries(rows.map(r => [r.dataset.broker, {
                requests: r.querySelector("td[data-requests]").getAttribute("data-requests"),
                bytes_in: r.querySelector("td[data-bytes-in]").getAttribute("data-bytes-in")}]))};
        """)
        brokers = got["brokers"]
        if len(brokers) != 3 or got["points"] < 6 or any(b["requests"] == "" for b in brokers.values()):
            return None
        rates = {k: {"requests": float(v["requests"]), "bytes_in": float(v["bytes_in"])} for k, v in brokers.items()}
        return rates if sum(b["bytes_in"] for b in rates.values()) > 0 else None
    seen["traffic"] = WebDriverWait(driver, 60, poll_frequency=0.5).until(rates)
    seen["traffic_points"] = driver.execute_script(
        'return Number(document.getElementById("chart-requests").getAttribute("data-points"))')
    driver.save_screenshot(os.path.join(shots, "traffic.png"))

    open_view("/topics", "topics")
    seen["topics"] = {
        r.get_attribute("data-topic"): int(r.find_element(By.CSS_SELECTOR, "td[data-partitions]").get_attribute("data-partitions"))
        for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-topic]")
    }

    def topic_rate(d):
        r = d.execute_script("""
            const cell = document.querySelector('tr[data-topic="' + arguments[0] + '"] td[data-messages-in-rate]');
            return cell ? cell.getAttribute("data-messages-in-rate") : "";
        """, topic)
        return float(r) if r not in ("", None) and float(r) > 0 else None
    seen["topic_messages_in_rate"] = WebDriverWait(driver, 30, poll_frequency=0.5).until(topic_rate)

    # A write through the page's form (this broker has writes on).
    # (Fresh lookups each step: the view redraws every 5 s, keeping what was typed.)
    stale = [StaleElementReferenceException, NoSuchElementException]
    for name, value in [("name", new_topic), ("partitions", "2"), ("replication_factor", "3")]:
        WebDriverWait(driver, 10, ignored_exceptions=stale).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#create-topic [name=%s]" % name).send_keys(value) or True)
    WebDriverWait(driver, 10, ignored_exceptions=stale).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#create-topic button").click() or True)
    WebDriverWait(driver, 30, ignored_exceptions=stale).until(
        lambda d: d.find_element(By.ID, "create-topic-result").get_attribute("data-status"))
    result = driver.execute_script("""
        const r = document.getElementById("create-topic-result");
        return {status: Number(r.dataset.status), text: r.textContent};""")
    seen["create"] = result
    driver.save_screenshot(os.path.join(shots, "topics.png"))

    open_view("/topics/" + topic, "topics-one")
    partitions = {}
    for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-partition]"):
        cell = lambda attr: r.find_element(By.CSS_SELECTOR, "td[%s]" % attr).get_attribute(attr)
        partitions[r.get_attribute("data-partition")] = {
            "leader": int(cell("data-leader")),
            "isr": [int(x) for x in cell("data-isr").split(",") if x],
            "high_watermark": int(cell("data-high-watermark")),
            "log_start": int(cell("data-log-start")),
        }
    seen["partitions"] = partitions

    open_view("/groups/billing", "groups-one")
    row = driver.find_element(By.CSS_SELECTOR, 'tr[data-offset="%s-0"]' % topic)
    seen["group"] = {
        "state": text("group-state"),
        "lag": int(row.find_element(By.CSS_SELECTOR, "td[data-lag]").get_attribute("data-lag")),
        "sparkline_samples": int(driver.find_element(By.ID, "lag-sparkline").get_attribute("data-samples")),
    }

    open_view("/messages?topic=%s&partition=0&offset=0&count=5&format=json" % topic, "messages")
    first = driver.find_element(By.CSS_SELECTOR, "tr[data-message-offset]")
    seen["message"] = {
        "offset": int(first.get_attribute("data-message-offset")),
        "value": first.find_element(By.CSS_SELECTOR, "td.message-value").text,
    }

    open_view("/znodes?path=%2Fbrokers%2Fids%2F1", "znodes")
    seen["znode"] = {
        "path": driver.find_element(By.ID, "znode-data").get_attribute("data-path"),
        "data": text("znode-data"),
    }
    # A broker with writes off: its forms are disabled and say why, and a
    # POST from the page is refused.
    open_view("/topics", "topics", at=read_only, shot="topics-read-only")
    seen["read_only"] = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const seen = {
          button_disabled: document.querySelector("#create-topic button").disabled,
          note: document.getElementById("create-topic-result").textContent,
        };
        fetch("/api/v1/topics", {method: "POST", headers: {"Content-Type": "application/json"},
            body: JSON.stringify({name: "refused-topic"})})
          .then(r => done(Object.assign(seen, {post_status: r.status})),
                e => done(Object.assign(seen, {post_status: String(e)})));
    """)
finally:
    driver.quit()

print(json.dumps(seen))
