"""Drives the Sluice web console in headless Chromium (Debian's chromium and
chromedriver, through selenium): loads each view, waits until it has drawn,
reads the numbers the page shows (from its data-* attributes and ids), saves
a screenshot of each, and prints what it read as one JSON object.

    python browser.py BASE_URL SCREENSHOT_DIR TOPIC
"""
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, shots, topic = sys.argv[1], sys.argv[2], sys.argv[3]
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


def open_view(hash_, view):
    driver.get(base + "/#" + hash_)
    driver.refresh()  # a hash change alone may not reload between views
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "view").get_attribute("data-view") in (view, "error"))
    if driver.find_element(By.ID, "view").get_attribute("data-view") == "error":
        raise SystemExit("the %s view failed: %s" % (view, driver.find_element(By.ID, "error").text))
    driver.save_screenshot(os.path.join(shots, view + ".png"))


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

    open_view("/topics", "topics")
    seen["topics"] = {
        r.get_attribute("data-topic"): int(r.find_element(By.CSS_SELECTOR, "td[data-partitions]").get_attribute("data-partitions"))
        for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-topic]")
    }

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
finally:
    driver.quit()

print(json.dumps(seen))
