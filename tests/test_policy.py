"""The verifier's security policy: the caller, not the receipt, decides what is enough.

A receipt names the profile it was made under and its trace length; both are the
prover's choices. Under the insecure ``test`` profile (8 queries at blowup 4, no
grinding) a false statement can be proved outright: the oracle's ``"downgrade"`` cheat
does it in about 2^16 hash evaluations. These tests make that forgery of ``fib(10) = 56``
and show that every verification path refuses it by default (check ``policy``, before any
proof work) and accepts it only when the caller explicitly opts into the test profile's
figure, which is what makes the forgery's success, and so the policy, real.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import httpx
import oracle_prover
import pytest
from test_service import ServerThread
from verifier_agreement import assert_accepted, assert_rejected, verdicts

import zkactors
import zkactors.service as service
from zkactors import profiles
from zkactors.cli import main
from zkactors.errors import VerificationError
from zkactors.programs import load
from zkactors.zkvm import reference
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.reference.air import Air
from zkactors.zkvm.verifier import verify, verify_bytes

FIB = load("fib")
P = 2**64 - 2**32 + 1


@pytest.fixture(scope="module")
def forged() -> bytes:
    """A receipt claiming fib(10) = 56 (it is 55), made under ``test`` by the oracle's
    downgrade forgery."""
    assert zkactors.execute(FIB, [10]).outputs == (55,)
    data = oracle_prover.prove(FIB, (10,), profile="test", outputs=(56,), cheat="downgrade")
    receipt = Receipt.from_bytes(data)
    assert receipt.outputs == (56,) and receipt.profile == "test"
    return data


def test_the_downgrade_forgery_passes_every_proof_check(forged: bytes) -> None:
    """Without a policy the forgery is accepted by all four verifier paths: the attack is
    real, so only the policy stands between it and a caller."""
    assert_accepted(forged, FIB, min_security_bits=0)


def test_every_default_path_refuses_the_forgery(forged: bytes) -> None:
    seen = verdicts(forged, FIB, min_security_bits=profiles.DEFAULT_MIN_SECURITY_BITS)
    assert set(seen.values()) == {"policy"}, seen
    for call in (verify, reference.verify):
        with pytest.raises(VerificationError, match="below the required 100") as caught:
            call(forged, FIB)  # the default policy, nothing passed
        assert caught.value.check == "policy"
        with pytest.raises(VerificationError) as caught:
            call(Receipt.from_bytes(forged), FIB)
        assert caught.value.check == "policy"
    with pytest.raises(VerificationError) as caught:
        verify_bytes(forged, FIB)
    assert caught.value.check == "policy"


def test_opting_in_means_naming_the_test_profiles_figure(forged: bytes) -> None:
    figure = Receipt.from_bytes(forged).security_bits(FIB)
    assert figure == 16.0  # 8 queries * log2(4) + 0 grinding bits
    assert_accepted(forged, FIB, min_security_bits=figure)
    assert assert_rejected(forged, FIB, min_security_bits=figure + 0.5) == "policy"
    verify_bytes(forged, FIB, min_security_bits=16)


def test_the_cli_refuses_the_forgery_by_default(
    forged: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forged.receipt"
    path.write_bytes(forged)
    assert main(["verify", str(path), "--program", "fib"]) == 1
    err = capsys.readouterr().err
    assert "INVALID" in err and "(policy)" in err and "16.0 conjectured bits" in err
    assert main(["verify", str(path), "--program", "fib", "--min-security-bits", "0"]) == 0
    out = capsys.readouterr().out
    assert "16.0 conjectured bits" in out and "at least 0 required" in out


def test_the_cli_rejects_a_meaningless_minimum(
    forged: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "forged.receipt"
    path.write_bytes(forged)
    with pytest.raises(SystemExit) as exited:
        main(["verify", str(path), "--program", "fib", "--min-security-bits", "-1"])
    assert exited.value.code == 2
    assert "expected a number of bits >= 0" in capsys.readouterr().err


def test_the_service_refuses_the_forgery_and_lets_clients_ask_only_for_more(
    forged: bytes,
) -> None:
    encoded = base64.b64encode(forged).decode()
    with (
        ServerThread(service.create_app(zkactors.RuntimeConfig())) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        answer = client.post("/verify", json={"program": "fib", "receipt": encoded}).json()
        assert answer["valid"] is False and answer["check"] == "policy"
        lowered = {"program": "fib", "receipt": encoded, "min_security_bits": 0}
        answer = client.post("/verify", json=lowered).json()
        assert answer["valid"] is False and answer["check"] == "policy"
        honest = client.post("/prove", json={"program": "fib", "inputs": [10]}).json()
        asked = {"program": "fib", "receipt": honest["receipt"], "min_security_bits": 100}
        answer = client.post("/verify", json=asked).json()
        assert answer["valid"] is True and answer["security_bits"] >= 100
        asked["min_security_bits"] = 1000
        answer = client.post("/verify", json=asked).json()
        assert answer["valid"] is False and answer["check"] == "policy"
        asked["min_security_bits"] = "lots"
        assert client.post("/verify", json=asked).status_code == 422


def test_the_policy_comes_before_any_proof_work(forged: bytes) -> None:
    """A test receipt whose proof is also broken is refused for its security first, by
    both verifiers; a receipt for another program still fails ``statement`` first."""
    broken = bytearray(forged)
    broken[-40] ^= 1  # inside the query openings
    assert assert_rejected(bytes(broken), FIB, min_security_bits=100) == "policy"
    assert assert_rejected(bytes(broken), FIB, min_security_bits=0) != "policy"
    assert assert_rejected(forged, load("power"), min_security_bits=100) == "statement"


@pytest.mark.parametrize("profile", ["default", "high"])
def test_honest_receipts_pass_the_default_policy_at_their_figure(profile: str) -> None:
    receipt = zkactors.prove(FIB, [30], profile=profile)
    figure = receipt.security_bits(FIB)
    assert figure >= profiles.DEFAULT_MIN_SECURITY_BITS
    data = receipt.to_bytes()
    assert_accepted(data, FIB, min_security_bits=profiles.DEFAULT_MIN_SECURITY_BITS)
    # The two verifiers draw the line at the same place: the figure itself passes,
    # anything above it does not.
    assert_accepted(data, FIB, min_security_bits=figure)
    assert assert_rejected(data, FIB, min_security_bits=math.nextafter(figure, 200)) == "policy"


def _expected_bits(profile: profiles.Profile, log_t: int, constraints: int) -> float:
    """The figure from its definition, written independently of zkactors.profiles."""
    query = profile.queries * math.log2(profile.blowup) + profile.grinding_bits
    field = profile.extension_degree * math.log2(P) - math.log2(
        profile.blowup * 2**log_t * constraints
    )
    return min(query, field)


@pytest.mark.parametrize("name", list(profiles.PROFILES))
@pytest.mark.parametrize("log_t", [3, 10, 16, 20, 26])
def test_the_security_figure_table(name: str, log_t: int) -> None:
    profile = profiles.get(name)
    for program in (FIB, load("mimc"), load("inverse_check")):
        constraints = Air(program).n_constraints
        bits = profiles.security_bits(name, 2**log_t, constraints)
        assert bits == pytest.approx(_expected_bits(profile, log_t, constraints), abs=1e-9)
        assert bits <= profile.query_security_bits
    if name == "test":
        assert profiles.security_bits(name, 2**log_t, 29) == 16.0


def test_receipt_security_bits_names_its_program() -> None:
    receipt = zkactors.prove(FIB, [5], profile="test")
    assert receipt.security_bits(FIB) == 16.0
    with pytest.raises(ValueError, match="the receipt is for program"):
        receipt.security_bits(load("power"))


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf])
def test_a_meaningless_minimum_is_a_value_error(bad: float) -> None:
    receipt = zkactors.prove(FIB, [5], profile="test")
    for call in (verify, reference.verify, verify_bytes):
        with pytest.raises(ValueError, match="min_security_bits"):
            call(receipt.to_bytes(), FIB, min_security_bits=bad)


@pytest.mark.parametrize("bad", ["100", None, True])
def test_a_minimum_that_is_not_a_number_is_a_type_error(bad: object) -> None:
    receipt = zkactors.prove(FIB, [5], profile="test")
    with pytest.raises(TypeError, match="min_security_bits"):
        verify(receipt, FIB, min_security_bits=bad)  # type: ignore[arg-type]


def test_the_figure_refuses_impossible_shapes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        profiles.security_bits("default", 100, 10)
    with pytest.raises(zkactors.errors.ProfileError):
        profiles.security_bits("nonsense", 1024, 10)


@pytest.mark.parametrize("bits", [10**400, 2**1024])
def test_an_integer_minimum_beyond_every_double_is_a_value_error(bits: int) -> None:
    with pytest.raises(ValueError, match="finite"):
        profiles.check_min_security_bits(bits)


def test_the_service_answers_an_enormous_minimum_with_422() -> None:
    receipt = zkactors.prove(FIB, [5])
    encoded = base64.b64encode(receipt.to_bytes()).decode()
    enormous = "1" + "0" * 400  # JSON allows integers of any length
    body = f'{{"program": "fib", "receipt": "{encoded}", "min_security_bits": {enormous}}}'
    with (
        ServerThread(service.create_app(zkactors.RuntimeConfig())) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        response = client.post(
            "/verify", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text[:200]
