"""Notification config, routes, templates and the rate limit: plain values, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from linesight.domain.notifications import (
    DEFAULT_TEXT,
    EmailChannel,
    Notice,
    NotificationsConfig,
    RouteConfig,
    Router,
    SlackChannel,
    Throttle,
    WebhookChannel,
    missing_secrets,
    render,
    template_problem,
)
from linesight.domain.plant import PlantFileError, parse_plant

PLANT = """\
id: plant-a
sites:
  - id: s1
    lines:
      - id: l1
        machines:
          - id: press-01
            driver: simulator
            tags:
              - {name: temp, address: temp}
notifications:
  channels:
    ops-hook:
      type: webhook
      url: http://127.0.0.1:8080/alarms
      headers: {X-Plant: plant-a}
      retry: {attempts: 3, initial: 500ms}
    email:
      type: email
      host: smtp.plant.example
      username: alarms
      password_env: LINESIGHT_SMTP_PASSWORD
      sender: linesight@plant.example
      to: [maintenance@plant.example]
  routes:
    - channels: [ops-hook]
    - channels: [email]
      priorities: [critical, high]
      machines: ["press-*"]
      states: [active, cleared]
      min_interval: 5m
      subject: "{priority} alarm on {machine_name}"
      text: "{message} ({value:.1f})"
"""


def _issues(text: str) -> list[Any]:
    with pytest.raises(PlantFileError) as caught:
        parse_plant(text, "plant.yaml")
    return caught.value.issues


def notice(**changes: Any) -> Notice:
    values: dict[str, Any] = {
        "ts": datetime(2026, 3, 2, 14, 5, 9, 250000, tzinfo=UTC),
        "alarm": "press-01.overtemp",
        "rule": "overtemp",
        "machine": "press-01",
        "machine_name": "Press 1",
        "tag": "temp",
        "priority": "high",
        "state": "active",
        "value": 231.25,
        "message": "oil too hot",
        "site": "s1",
        "plant": "plant-a",
    }
    values.update(changes)
    return Notice(**values)


# ---------------------------------------------------------------------------------------------- plant file


def test_a_plant_file_with_channels_and_routes_loads_with_defaults() -> None:
    plant = parse_plant(PLANT, "plant.yaml")
    config = plant.notifications
    assert config is not None
    hook = config.channels["ops-hook"]
    assert isinstance(hook, WebhookChannel)
    assert hook.headers == {"X-Plant": "plant-a"} and hook.retry.initial == 0.5 and hook.retry.attempts == 3
    mail = config.channels["email"]
    assert isinstance(mail, EmailChannel)
    assert mail.security == "starttls" and mail.effective_port == 587
    first, second = config.routes
    assert first.states == ["active"] and first.min_interval == 60.0 and first.text == DEFAULT_TEXT
    assert second.min_interval == 300.0 and second.priorities == ["critical", "high"]


def test_a_plant_file_without_notifications_has_none() -> None:
    text = PLANT[: PLANT.index("notifications:")]
    assert parse_plant(text, "plant.yaml").notifications is None


def test_a_template_naming_an_unknown_field_is_a_plant_file_error_naming_it() -> None:
    (issue,) = _issues(PLANT.replace('"{message} ({value:.1f})"', '"{mesage} ({value:.1f})"'))
    assert (issue.source, issue.line) == ("plant.yaml", 33)
    assert issue.field == "notifications.routes[1].text"
    assert "unknown field 'mesage'" in issue.message and "message" in issue.message
    assert str(issue).startswith("plant.yaml:33:")


def test_a_route_naming_an_unknown_channel_is_an_error_with_file_line_and_field() -> None:
    (issue,) = _issues(PLANT.replace("- channels: [ops-hook]", "- channels: [ops-hok]"))
    assert (issue.source, issue.line) == ("plant.yaml", 26)
    assert issue.field == "notifications.routes[0].channels[0]"
    assert issue.message == "no channel named 'ops-hok'; known channels: email, ops-hook"


def test_a_misspelled_channel_field_names_the_channel_not_its_type_and_lists_the_allowed_fields() -> None:
    # The channel is called "email" like its type: the type must not appear twice in the location.
    issues = _issues(PLANT.replace("      host: smtp", "      host: smtp.plant.example\n      hots: smtp"))
    (unknown,) = issues
    assert (unknown.field, unknown.line) == ("notifications.channels.email.hots", 21)
    assert "unknown field 'hots'; allowed: type, host, port, security" in unknown.message


def test_a_missing_host_is_reported_at_the_channel() -> None:
    (issue,) = _issues(PLANT.replace("      host: smtp.plant.example\n", ""))
    assert issue.field == "notifications.channels.email.host" and issue.message == "required field is missing"


def test_an_unknown_channel_type_lists_the_known_ones() -> None:
    (issue,) = _issues(PLANT.replace("type: webhook", "type: teams"))
    assert issue.field == "notifications.channels.ops-hook"
    assert "'webhook', 'slack', 'email'" in issue.message


def test_a_password_in_clear_text_or_without_a_variable_is_refused() -> None:
    (issue,) = _issues(PLANT.replace("      password_env: LINESIGHT_SMTP_PASSWORD\n", ""))
    assert issue.field == "notifications.channels.email"
    assert "needs 'password_env'" in issue.message
    (issue,) = _issues(
        PLANT.replace("      username: alarms\n", "      username: alarms\n      security: none\n")
    )
    assert "clear text" in issue.message
    (issue,) = _issues(PLANT.replace("LINESIGHT_SMTP_PASSWORD", "hunter 2"))
    assert issue.field == "notifications.channels.email.password_env"


def test_a_slack_channel_takes_its_url_or_the_variable_holding_it() -> None:
    assert SlackChannel.model_validate({"type": "slack", "url_env": "SLACK_URL"}).secret_variables() == [
        "SLACK_URL"
    ]
    with pytest.raises(ValueError, match="exactly one"):
        SlackChannel.model_validate({"type": "slack"})
    with pytest.raises(ValueError, match="http:// or https://"):
        SlackChannel.model_validate({"type": "slack", "url": "hooks.slack.com/services/x"})


def test_secrets_not_in_the_environment_are_named() -> None:
    config = parse_plant(PLANT, "plant.yaml").notifications
    assert config is not None
    mail = config.channels["email"]
    assert missing_secrets(mail, {}) == ["LINESIGHT_SMTP_PASSWORD"]
    assert missing_secrets(mail, {"LINESIGHT_SMTP_PASSWORD": "x"}) == []


def test_unknown_route_states_and_priorities_are_refused() -> None:
    issues = _issues(
        PLANT.replace("states: [active, cleared]", "states: [active, gone]").replace(
            "priorities: [critical, high]", "priorities: [urgent]"
        )
    )
    fields = {issue.field for issue in issues}
    assert fields == {"notifications.routes[1].priorities[0]", "notifications.routes[1].states[1]"}


# ---------------------------------------------------------------------------------------------- templates


def test_templates_render_notice_fields_with_formats() -> None:
    text = render("{priority}: {machine_name} {value:.1f} at {ts:%H:%M:%S} ({state})", notice())
    assert text == "high: Press 1 231.2 at 14:05:09 (active)"
    assert "Press 1 (press-01), site s1, plant plant-a" in render(DEFAULT_TEXT, notice())


def test_a_format_that_does_not_fit_the_value_falls_back_to_the_plain_value() -> None:
    assert render("{value:.1f}!", notice(value="OPEN")) == "OPEN!"
    assert render("{value}", notice(value=None)) == "None"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{machine_name} {message}", None),
        ("{{literal}} {tag}", None),
        ("{machine.id}", "plain field name"),
        ("{}", "names its fields"),
        ("{0}", "names its fields"),
        ("{value", "not a valid template"),
        ("{value:{tag}}", "may not contain another field"),
        ("{machien}", "unknown field 'machien'"),
    ],
)
def test_template_checks(template: str, expected: str | None) -> None:
    problem = template_problem(template)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


# ---------------------------------------------------------------------------------------------- routing


def route(**values: Any) -> RouteConfig:
    return RouteConfig.model_validate({"channels": ["c"], **values})


def test_a_route_matches_by_priority_machine_and_rule_globs_and_state() -> None:
    assert route().matches(notice())
    assert not route().matches(notice(state="cleared"))  # active only by default
    assert route(states=["cleared"]).matches(notice(state="cleared"))
    assert route(priorities=["high", "critical"]).matches(notice())
    assert not route(priorities=["critical"]).matches(notice())
    assert route(machines=["press-*", "oven-1"]).matches(notice())
    assert not route(machines=["oven-*"]).matches(notice())
    assert route(rules=["over*"]).matches(notice()) and not route(rules=["under*"]).matches(notice())


def config(*routes: dict[str, Any]) -> NotificationsConfig:
    return NotificationsConfig.model_validate(
        {
            "channels": {
                "c": {"type": "webhook", "url": "http://127.0.0.1:1/"},
                "d": {"type": "slack", "url": "https://hooks.example/x"},
            },
            "routes": list(routes),
        }
    )


def test_one_notification_per_rule_per_minute_and_another_rule_gets_its_own() -> None:
    router = Router(config({"channels": ["c"]}))
    first = router.plan(notice(), now=1000.0)
    again = router.plan(notice(), now=1030.0)
    other = router.plan(notice(rule="underpressure", alarm="press-01.underpressure"), now=1031.0)
    other_machine = router.plan(notice(machine="press-02"), now=1032.0)
    later = router.plan(notice(), now=1060.0)
    assert [len(p.outgoing) for p in (first, again, other, other_machine, later)] == [1, 0, 1, 1, 1]
    assert again.held == 1


def test_each_route_sends_to_all_its_channels_with_its_own_texts() -> None:
    router = Router(
        config(
            {"channels": ["c", "d"], "subject": "S {rule}", "text": "T {value}"},
            {"channels": ["d"], "priorities": ["critical"]},
        )
    )
    plan = router.plan(notice(), now=0.0)
    assert [(item.channel, item.subject, item.text) for item in plan.outgoing] == [
        ("c", "S overtemp", "T 231.25"),
        ("d", "S overtemp", "T 231.25"),
    ]


def test_a_zero_interval_sends_every_notice() -> None:
    router = Router(config({"channels": ["c"], "min_interval": 0}))
    assert all(len(router.plan(notice(), now=5.0).outgoing) == 1 for _ in range(3))


def test_a_state_change_held_by_the_rate_limit_goes_out_when_the_window_ends() -> None:
    router = Router(config({"channels": ["c"], "states": ["active", "cleared"]}))
    assert len(router.plan(notice(), now=0.0).outgoing) == 1
    assert router.plan(notice(state="cleared"), now=10.0).held == 1
    assert router.due(now=59.0) == []
    (owed,) = router.due(now=60.0)
    assert owed.notice.state == "cleared"
    assert router.due(now=500.0) == []


def test_a_flap_that_ends_where_it_started_sends_nothing_more() -> None:
    router = Router(config({"channels": ["c"], "states": ["active", "cleared"]}))
    router.plan(notice(), now=0.0)
    router.plan(notice(state="cleared"), now=10.0)
    router.plan(notice(), now=20.0)
    assert router.due(now=61.0) == []


def test_the_throttle_forgets_windows_that_ended() -> None:
    throttle: Throttle[str] = Throttle()
    assert throttle.offer("k", 0.0, 60.0, "active", "a")
    assert not throttle.offer("k", 1.0, 60.0, "active", "b")
    assert throttle.due(61.0) == []
    assert len(throttle) == 0


def test_a_value_json_cannot_hold_is_sent_as_null() -> None:
    assert notice(value=float("nan")).to_json()["value"] is None
    assert notice(value=float("inf")).to_json()["value"] is None
    assert notice(value="OPEN").to_json()["value"] == "OPEN"
