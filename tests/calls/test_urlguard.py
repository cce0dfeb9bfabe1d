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
    # IPv6 forms that embed an IPv4 address or reach an internal network
    "http://[::127.0.0.1]/hook",
    "http://[::7f00:1]/hook",
    "http://[::10.0.0.1]/hook",
    "http://[::169.254.169.254]/hook",
    "http://[::8.8.8.8]/hook",
    "http://[::]/hook",
    "http://[0:0:0:0:0:0:0:0]/hook",
    "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[::ffff:192.168.0.1]/hook",
    "http://[::ffff:0:7f00:1]/hook",
    "http://[64:ff9b::127.0.0.1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[64:ff9b::10.0.0.1]/hook",
    "http://[64:ff9b::8.8.8.8]/hook",
    "http://[64:ff9b:1::a00:1]/hook",
    "http://[64:ff9b:1:ffff::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[2002:7f00:0001::1]/hook",
    "http://[2002:a9fe:a9fe::]/hook",
    "http://[2002:c0a8:101::1]/hook",
    "http://[2002:a00:1::]/hook",
    "http://[2002::]/hook",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
    "http://[2001::1]/hook",
    "http://[2001:0:7f00:1::]/hook",
    "http://[fc00::1]/hook",
    "http://[fdff:ffff::1]/hook",
    "http://[fd12:3456:789a::1]/hook",
    "http://[fec0::1]/hook",
    "http://[feff::1]/hook",
    "http://[fe80::a9fe:a9fe]/hook",
    "http://[ff02::1]/hook",
    "http://[ff05::2]/hook",
    "http://[ff0e::1]/hook",
    "http://[100::1]/hook",
    "http://[2001:db8::1]/hook",
    "http://[::1%25eth0]/hook",
    "http://[fe80::1%25eth0]/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_it_refuses_internal_targets_in_every_spelling(url, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    with pytest.raises(UnsafeURL):
        check_webhook_url(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/a", "http://8.8.8.8/a", "https://[2001:4860::8888]/a", "http://[2002:808:808::1]/a"])
def test_it_accepts_public_targets(url, settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = False
    check_webhook_url(url)


def test_the_local_trial_switch_lifts_the_check(settings):
    settings.ALLOW_PRIVATE_WEBHOOK_URLS = True
    check_webhook_url("http://127.0.0.1:9000/answer")
