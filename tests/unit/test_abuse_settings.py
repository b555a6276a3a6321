"""Abuse protection settings (docs/abuse.md): validation, and what they render into
kamailio.cfg (accepted by `kamailio -c`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestrator.compile.configs import write_configs
from orchestrator.settings import DEFAULT_SCANNER_USER_AGENTS, Settings
from orchestrator.switch.bans import BadAddress, Ban, parse_address

SCANNERS = ("friendly-scanner", "sipvicious", "sipcli/v1.8", "VaxSIPUserAgent/3.1",
            "pplsip", "sundayddr", "iWar", "sip-scan", "SIPScan", "smap 0.6.0")
ORDINARY = ("Yealink SIP-T46S 66.86.0.15", "Asterisk PBX 18.20.0", "FreeSWITCH-mod_sofia/1.10",
            "Linphone/5.2.0", "Cisco-SIPGateway/IOS-15.x", "sipsak 0.9.8", "PolycomVVX-VVX_410",
            "MicroSIP/3.21.3", "Grandstream GXP2170 1.0.11.3", "kamailio (5.6.3 (x86_64/linux))")


def test_defaults() -> None:
    s = Settings()
    assert (s.flood_requests, s.flood_window, s.ban_seconds) == (100, 2, 600)
    assert s.scanner_user_agents == DEFAULT_SCANNER_USER_AGENTS


@pytest.mark.parametrize("ua", SCANNERS)
def test_the_default_regex_catches_scanners(ua: str) -> None:
    assert re.search(DEFAULT_SCANNER_USER_AGENTS, ua, re.IGNORECASE)


@pytest.mark.parametrize("ua", ORDINARY)
def test_the_default_regex_leaves_ordinary_user_agents_alone(ua: str) -> None:
    assert not re.search(DEFAULT_SCANNER_USER_AGENTS, ua, re.IGNORECASE)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("flood_requests", -1, "greater than or equal to 0"),
        ("flood_requests", 100001, "less than or equal to 100000"),
        ("flood_window", 0, "greater than or equal to 1"),
        ("flood_window", 61, "less than or equal to 60"),
        ("ban_seconds", 0, "greater than or equal to 1"),
        ("ban_seconds", 604801, "less than or equal to 604800"),
        ("scanner_user_agents", r"scan\d+", r"'\\d' is not POSIX extended syntax"),
        ("scanner_user_agents", "(?i)scanner", "'(?' is not POSIX extended syntax"),
        ("scanner_user_agents", "scan.+?er", "'+?' is not POSIX extended syntax"),
        ("scanner_user_agents", "scan[", "not a valid regular expression"),
        ("scanner_user_agents", 'say "hi"', "without double quotes"),
        ("scanner_user_agents", "a\nb", "on one line"),
        ("scanner_user_agents", "x*|friendly", "matches every User-Agent"),
        ("scanner_user_agents", "x" * 1001, "at most 1000 characters"),
    ],
)
def test_bad_values_name_the_field_and_say_why(field: str, value: object,
                                               message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})  # type: ignore[arg-type]
    (error,) = info.value.errors()
    assert error["loc"][0] == field
    assert message in str(info.value)


def test_environment_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_FLOOD_REQUESTS", "0")
    monkeypatch.setenv("ORCHESTRATOR_SCANNER_USER_AGENTS", "  ")
    s = Settings()
    assert s.flood_requests == 0
    assert s.scanner_user_agents == ""  # blanks: no scanner check


def _cfg(tmp_path: Path, **overrides: object) -> str:
    settings = Settings(var_dir=tmp_path, **overrides)  # type: ignore[arg-type]
    return write_configs(settings).kamailio_cfg.read_text()  # runs kamailio -c


def _abuse_route(text: str) -> str:
    start = text.index("route[ABUSE] {")
    return text[start:text.index("\n}\n", start)]


def test_rendered_defaults(tmp_path: Path) -> None:
    text = _cfg(tmp_path, flood_requests=40, flood_window=3, ban_seconds=900)
    assert 'loadmodule "pike.so"' in text
    assert 'modparam("pike", "sampling_time_unit", 3)' in text
    assert 'modparam("pike", "reqs_density_per_unit", 40)' in text
    assert '"ban=>size=8;autoexpire=900;"' in text
    route = _abuse_route(text)
    assert f'$ua =~ "{DEFAULT_SCANNER_USER_AGENTS}"' in route
    assert "$sht(ban=>$si) = $Ts + 900;" in route
    # the scanner check, then the ban, then the exemptions, then pike
    order = [route.index(x) for x in ("$ua =~", "$sht(ban=>$si) != $null",
                                      'allow_source_address("$var(abuse_g)")',
                                      'ds_is_from_list("-1", "3")', "pike_check_req()")]
    assert order == sorted(order)
    # route[ABUSE] runs first for every request
    request_route = text[text.index("request_route {"):]
    assert request_route.index("route(ABUSE);") < request_route.index("route(REQINIT);")


def test_rendered_with_both_off(tmp_path: Path) -> None:
    text = _cfg(tmp_path, flood_requests=0, scanner_user_agents="")
    assert 'loadmodule "pike.so"' not in text
    route = _abuse_route(text)
    assert "$ua" not in route and "pike_check_req" not in route
    # bans already set (by hand over RPC) still hold
    assert "$sht(ban=>$si) != $null" in route


def test_a_backslash_reaches_kamailio_as_one(tmp_path: Path) -> None:
    # Kamailio reads "\\" in a string as one backslash: the regex stays sip\.vicious
    text = _cfg(tmp_path, scanner_user_agents=r"sip\.vicious")
    assert '$ua =~ "sip\\\\.vicious"' in _abuse_route(text)


@pytest.mark.parametrize(("text", "address"), [
    (" 203.0.113.7 ", "203.0.113.7"), ("2001:DB8::7", "2001:db8::7"),
    ("[2001:db8::7]", "2001:db8::7")])
def test_addresses_are_normalised(text: str, address: str) -> None:
    assert str(parse_address(text)) == address


@pytest.mark.parametrize("text", ["", "203.0.113", "203.0.113.7/32", "example.com",
                                  "1" * 100])
def test_bad_addresses_say_what_to_give(text: str) -> None:
    with pytest.raises(BadAddress, match=r"is not an IP address: give one like 203\.0\.113\.7"):
        parse_address(text)


def test_a_ban_reports_when_it_ends() -> None:
    ban = Ban("203.0.113.7", "local", 1_800_000_000)
    assert ban.to_dict(1_800_000_000 - 42.5) == {
        "ip": "203.0.113.7", "node": "local", "expires_at": "2027-01-15T08:00:00Z",
        "remaining_seconds": 43}
    assert ban.remaining(1_800_000_000 - 0.2) == 1
