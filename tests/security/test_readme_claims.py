"""The README says what protects each carrier's callbacks, and claims replay protection only where it exists."""

from pathlib import Path

from calls.carriers import registry

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _proof_column():
    rows = {}
    for line in README.splitlines():
        for kind in registry.CARRIERS:
            if line.startswith("| ") and f"(`{kind}`)" in line.split("|")[1]:
                rows[kind] = line.split("|")[5].strip()
    return rows


def test_every_carrier_has_its_callback_protection_stated():
    proofs = _proof_column()

    assert set(proofs) == set(registry.CARRIERS)
    assert all(proofs[kind] for kind in registry.CARRIERS if kind != "sandbox")


def test_replay_protection_is_claimed_for_nonce_signing_carriers_only():
    proofs = _proof_column()
    nonce_carriers = {kind for kind, proof in proofs.items() if "nonce" in proof.lower()}

    assert nonce_carriers == {"vobiz"}  # tests/carriers/test_vobiz.py proves its replays get 403
    assert "A forged, replayed or unknown-token callback gets 403" not in README
    assert "only Vobiz callbacks are refused (403) when\nreplayed" in README
