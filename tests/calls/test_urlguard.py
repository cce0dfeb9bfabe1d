import pytest

from calls.urlguard import UnsafeURL, check_webhook_url

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.0.0.1/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://100.64.0.1/hook",
    "http://100.127.255.254/hook",
    "http://224.0.0.1/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://printer.local/hook",
    "http://[::ffff:a9fe:a9fe]/hook",
    "http://0xa9fea9fe/hook",
    "http://2852039166/hook",
    "gopher://example.com/hook",
    "file:///etc/passwd",
    "http:///hook",
    "http://example.com:99999/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_it_refuses_internal_targets_in_every_spelling(url, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    with pytest.raises(UnsafeURL):
        check_webhook_url(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/a", "http://8.8.8.8/a", "https://[2001:4860::8888]/a"])
def test_it_accepts_public_targets(url, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    check_webhook_url(url)


def test_the_local_trial_switch_lifts_the_check(settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = True
    check_webhook_url("http://127.0.0.1:9000/answer")
