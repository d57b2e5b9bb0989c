"""The diagnostics bundle: no secret of the plant file survives (by field name, in URLs, in multi-line
and flow values), everything else does (comments, line numbers, where secrets are kept), and a
broken or missing plant file still gives a bundle that names the problem."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import yaml

from linesight import __version__
from linesight.cli import main
from linesight.runtime import support
from linesight.runtime.plantfile import SIMULATED_PLANT

SECRETS = (
    "opc-Pa55word",
    "mqtt-s3cret",
    "sk_live_ABCDEF",
    "T000/B000/XXXXSLACK",
    "hooktoken123",
    "Bearer eyJhbGciOi",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC",
    "urlpass99",
    "flowpw77",
    "1234-pin",
)

# Every kind of place a secret hides in, whether or not the schema allows it there today.
SECRET_PLANT = """\
# Plant of the test: comments stay in the bundle.
id: secrets
name: Secret plant
sites:
  - id: s
    lines:
      - id: l
        machines:
          - id: filler
            driver: opcua
            connection:
              endpoint: opc.tcp://10.0.3.15:4840
              username: linesight
              password: "opc-Pa55word"   # the OPC UA login
            tags: []
cloud:
  broker: mqtts://edge-01:urlpass99@broker.example.com:8883
  password: mqtt-s3cret
  password_env: LINESIGHT_CLOUD_PASSWORD
  api_key: sk_live_ABCDEF
  api_key_file: /etc/linesight/api.key
  tls:
    key: |
      -----BEGIN PRIVATE KEY-----
      MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC
      -----END PRIVATE KEY-----
    ca: /etc/linesight/ca.pem
notifications:
  channels:
    - {type: slack, url: "https://hooks.slack.com/services/T000/B000/XXXXSLACK"}
    - type: webhook
      url: https://alerts.example.com/hook?token=hooktoken123&site=sp
      headers: {Authorization: "Bearer eyJhbGciOi", X-Site: sp}
    - type: email
      host: smtp.example.com
      username: alarms@example.com
      smtp: {user: a, password: flowpw77}
      password_env: SMTP_PASSWORD
kiosk:
  pin: 1234-pin
"""


def _bundle_text(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8", "replace") for name in archive.namelist()}


def test_no_secret_survives_and_the_rest_of_the_plant_file_does(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SECRET_PLANT, encoding="utf-8")
    written = support.write_bundle(tmp_path / "out.zip", plant_path=plant, log_dir=tmp_path / "no-logs")
    files = _bundle_text(written)
    everything = "\n".join(files.values())
    for secret in SECRETS:
        assert secret not in everything, secret
    text = files["plant.yaml"]
    assert text.splitlines()[0] == "# Plant of the test: comments stay in the bundle."
    assert len(text.splitlines()) == len(SECRET_PLANT.splitlines())  # line numbers as in `check`
    parsed = yaml.safe_load(text)
    cloud = parsed["cloud"]
    assert cloud["password"] == support.REDACTED and cloud["api_key"] == support.REDACTED
    assert cloud["password_env"] == "LINESIGHT_CLOUD_PASSWORD"  # where a secret is kept is not one
    assert cloud["api_key_file"] == "/etc/linesight/api.key"
    assert cloud["tls"]["key"] == support.REDACTED and cloud["tls"]["ca"] == "/etc/linesight/ca.pem"
    assert cloud["broker"] == f"mqtts://edge-01:{support.REDACTED}@broker.example.com:8883"
    slack, webhook, email = parsed["notifications"]["channels"]
    assert slack["url"] == f"https://hooks.slack.com/{support.REDACTED}"
    assert webhook["url"].startswith("https://alerts.example.com/hook?token=")
    assert webhook["headers"] == {"Authorization": support.REDACTED, "X-Site": "sp"}
    assert email["host"] == "smtp.example.com" and email["password_env"] == "SMTP_PASSWORD"
    assert email["smtp"] == {"user": "a", "password": support.REDACTED}
    machine = parsed["sites"][0]["lines"][0]["machines"][0]
    assert machine["connection"]["endpoint"] == "opc.tcp://10.0.3.15:4840"
    assert machine["connection"]["username"] == "linesight"
    readme = files["README.txt"]
    assert "line 14: password" in readme and "line 23: key" in readme
    assert "plant-check.txt" in files  # the validation result is there either way


def test_a_bad_plant_file_still_gives_a_bundle_naming_the_error_without_its_secrets(tmp_path: Path) -> None:
    plant = tmp_path / "broken.yaml"
    plant.write_text(SECRET_PLANT + "  - this: [is not: closed\n", encoding="utf-8")
    written = support.write_bundle(tmp_path, plant_path=plant, log_dir=tmp_path / "no-logs")
    assert written.parent == tmp_path and written.name.startswith("linesight-support-")
    files = _bundle_text(written)
    for secret in SECRETS:
        assert secret not in "\n".join(files.values()), secret
    assert "PLANT PROBLEM" in files["README.txt"] and "not valid YAML" in files["README.txt"]
    assert str(plant) in files["README.txt"]
    assert files["plant-check.txt"].startswith("INVALID")


def test_a_missing_plant_file_is_named_and_the_rest_is_there(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    log_dir.mkdir()
    (log_dir / "agent.log").write_text('{"level": "INFO", "message": "hello"}\n', encoding="utf-8")
    written = support.write_bundle(
        tmp_path / "b.zip",
        plant_path=tmp_path / "nowhere.yaml",
        health={"plant": "x", "machines": [{"id": "m", "state": "online"}], "password": "healthpw"},
        log_dir=log_dir,
    )
    files = _bundle_text(written)
    assert "cannot read the plant file" in files["README.txt"] and "nowhere.yaml" in files["README.txt"]
    assert "plant.yaml" not in files
    assert json.loads(files["health.json"])["machines"][0]["state"] == "online"
    assert "healthpw" not in files["health.json"]
    assert files["logs/agent.log"].startswith('{"level": "INFO"')
    versions = json.loads(files["versions.json"])
    assert versions["linesight"] == __version__
    assert versions["packages"]["duckdb"] and versions["packages"]["PySide6-Essentials"]
    assert versions["python"].split()[0].count(".") == 2


def test_the_demo_plant_goes_in_whole_and_validates(tmp_path: Path) -> None:
    written = support.write_bundle(tmp_path / "d.zip", plant_path=SIMULATED_PLANT, log_dir=tmp_path)
    files = _bundle_text(written)
    assert files["plant.yaml"] == SIMULATED_PLANT.read_text(encoding="utf-8")
    assert files["plant-check.txt"].startswith("OK:")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("opc.tcp://10.0.0.1:4840/path", "opc.tcp://10.0.0.1:4840/path"),
        ("https://u:p@h.example/x?a=1&b=2", "https://u:<redacted>@h.example/x?a=<redacted>&b=<redacted>"),
        ("https://discord.com/api/webhooks/1/abc", "https://discord.com/<redacted>"),
    ],
)
def test_urls_keep_where_they_point_and_lose_their_secrets(url: str, expected: str) -> None:
    assert support.redact_url(url) == expected


def test_the_cli_writes_the_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(SECRET_PLANT, encoding="utf-8")
    health = tmp_path / "health.json"
    health.write_text(json.dumps({"plant": "secrets", "machines_online": 1}), encoding="utf-8")
    code = main(
        [
            "support-bundle",
            "--plant",
            str(plant),
            "--out",
            str(tmp_path / "cli.zip"),
            "--health-file",
            str(health),
            "--log-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'cli.zip'}"
    files = _bundle_text(tmp_path / "cli.zip")
    assert json.loads(files["health.json"])["machines_online"] == 1
    assert "opc-Pa55word" not in files["plant.yaml"]


def test_the_cli_names_an_output_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["support-bundle", "--plant", str(SIMULATED_PLANT), "--out", str(blocker / "sub" / "b.zip")])
    assert code == 2
    assert f"cannot write the bundle {blocker / 'sub' / 'b.zip'}" in capsys.readouterr().err


def test_a_layout_the_line_pass_cannot_see_is_caught_by_the_parsed_check(tmp_path: Path) -> None:
    plant = tmp_path / "odd.yaml"
    plant.write_text('id: odd\ncloud:\n  password:\n    "on-the-next-line-pw"\n', encoding="utf-8")
    files = _bundle_text(support.write_bundle(tmp_path / "o.zip", plant_path=plant, log_dir=tmp_path))
    assert "on-the-next-line-pw" not in "\n".join(files.values())
    assert files["plant.yaml"].startswith("# comments dropped")
    assert yaml.safe_load(files["plant.yaml"])["cloud"]["password"] == support.REDACTED
