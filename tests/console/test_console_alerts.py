"""The console's Alerts page in a real browser against a real gunicorn, with real faces: an
admin creates a rule in the form (strangers at the dock, within an hour either side of
now in site time: the window crosses midnight when now is near it), a
stranger's track raises one alert however many crops it has, the operator acknowledges it; a
review key sees the alerts but not the rules. Screenshots: console-alerts*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.by import By

from tests.api.conftest import ADMIN_KEY
from tests.console.conftest import REVIEW_KEY
from tests.console.test_console import AI, css, go, sign_in, store, text, wait


def fill_rule(browser) -> None:
    form = browser.find_element(By.ID, "alert-rule-form")
    form.find_element(By.NAME, "name").send_keys("Strangers at the dock")
    form.find_element(By.NAME, "unknown").click()
    form.find_element(By.NAME, "cameras").send_keys("dock")
    now = datetime.now(UTC)
    hours = [(now + timedelta(hours=h)).strftime("%H:%M") for h in (-1, 1)]
    for name, value in zip(("start", "end"), hours, strict=True):
        browser.execute_script(
            "arguments[0].value = arguments[1]", form.find_element(By.NAME, name), value
        )
    form.find_element(By.NAME, "cooldown").clear()
    form.find_element(By.NAME, "cooldown").send_keys("0")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_an_admin_sets_a_rule_and_acknowledges_its_one_alert(browser, server, shots):
    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, ADMIN_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    go(browser, "#alerts")
    wait(browser, lambda: browser.find_element(By.ID, "alert-rule-form").is_displayed())
    fill_rule(browser)
    wait(browser, lambda: len(css(browser, "#alert-rules .rule")) == 1)
    rule = css(browser, "#alert-rules .rule")[0].text
    assert "Strangers at the dock" in rule and "any stranger" in rule and "camera dock" in rule
    for photo in AI[:4]:  # one stranger's track, four crops
        store(server, photo, "dock", location="loading-dock", track_id="night-walk")
    store(server, AI[0], "lobby", track_id="elsewhere")  # another camera: no alert
    go(browser, "#live")
    go(browser, "#alerts")
    wait(browser, lambda: len(css(browser, "#alerts-list .alert")) == 1)
    # A face's src is set once its fetch (with the key) resolves: none until then.
    wait(
        browser,
        lambda: any(
            (img.get_attribute("src") or "").startswith("blob:")
            for img in css(browser, "#alerts-list .alert img.face")
        ),
    )
    alert = css(browser, "#alerts-list .alert")[0]
    assert "Unknown person" in alert.text and "night-walk, 4 crops" in alert.text
    assert text(browser, "alerts-total") == "1 alert"
    browser.save_screenshot(str(shots / "console-alerts.png"))
    alert.find_element(By.TAG_NAME, "button").click()
    wait(browser, lambda: "acknowledged" in css(browser, "#alerts-list .alert")[0].text)
    browser.save_screenshot(str(shots / "console-alerts-acked.png"))


def test_a_review_key_sees_alerts_but_not_rules(browser, server):
    browser.get(server.url + "/console/config")
    browser.execute_script("sessionStorage.clear()")
    sign_in(browser, server, REVIEW_KEY)
    wait(browser, lambda: browser.find_element(By.ID, "app").is_displayed())
    go(browser, "#alerts")
    wait(
        browser,
        lambda: (
            text(browser, "alerts-total").endswith("alerts")
            or text(browser, "alerts-total").endswith("alert")
        ),
    )
    assert not browser.find_element(By.ID, "alert-rule-form").is_displayed()
    assert not browser.find_element(By.ID, "alert-rules").is_displayed()
