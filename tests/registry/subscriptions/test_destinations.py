"""The webhook allow-list: schemes, host patterns, networks; private addresses refused unless a
network rule names them."""

from __future__ import annotations

import pytest

from registry.subscriptions.destinations import DestinationRefused, check, parse_rules

DEFAULT = parse_rules("https://*")


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/hook",  # http is not https
        "https://127.0.0.1/hook",  # loopback
        "https://[::1]/hook",
        "https://10.0.0.5/hook",  # private
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
        "https://[fe80::1]/hook",
        "https://0.0.0.0/hook",
        "https://user:pass@8.8.8.8/hook",  # credentials in the URL
        "ftp://8.8.8.8/hook",
        "file:///etc/passwd",
        "https:///hook",
        "https://8.8.8.8:99999/hook",
        "https://localhost/hook",  # resolves to loopback
        "https://8.8.8.8/a b",  # nothing a request line may not carry
        "https://8.8.8.8/a\r\nX-Injected: 1",
    ],
)
def test_refused_by_default(url):
    with pytest.raises(DestinationRefused) as refused:
        check(url, DEFAULT)
    assert refused.value.code == "webhook_destination_refused"


def test_a_public_address_is_allowed_by_default():
    target = check("https://8.8.8.8/hook?x=1", DEFAULT)
    assert (target.address, target.port, target.path, target.host) == (
        "8.8.8.8",
        443,
        "/hook?x=1",
        "8.8.8.8",
    )


def test_a_network_rule_allows_what_it_names_only():
    rules = parse_rules("https://*, http://127.0.0.1/8")
    assert check("http://127.0.0.1:8080/h", rules).address == "127.0.0.1"
    assert check("http://localhost:8080/h", rules).address == "127.0.0.1"
    for url in ("https://127.0.0.1/h", "http://10.0.0.1/h", "http://[::1]/h"):
        with pytest.raises(DestinationRefused):
            check(url, rules)


def test_host_patterns():
    rules = parse_rules("https://*.example.org")
    with pytest.raises(DestinationRefused):
        check("https://8.8.8.8/h", rules)  # not a name the pattern allows


@pytest.mark.parametrize("text", ["127.0.0.1", "gopher://x", "https://", "https://10.0.0.0/33"])
def test_a_bad_setting_is_named(text):
    with pytest.raises(ValueError, match=r"rule|network|pattern"):
        parse_rules(text)
