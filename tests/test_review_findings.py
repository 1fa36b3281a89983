"""Review findings (branch ``review``): each test fails on main as it stands."""

from __future__ import annotations

import math

import anyio
import oracle_prover
import pytest

from zkactors import RuntimeConfig, ZkRuntime, profiles, programs
from zkactors.runtime.messages import CacheKey
from zkactors.runtime.store import StoreLimits, encode_entry, open_store, parse_store_url, store_key
from zkactors.zkvm import reference
from zkactors.zkvm.execute import execute
from zkactors.zkvm.receipt import Receipt
from zkactors.zkvm.verifier import verify

FIB = programs.load("fib")
LIMITS = StoreLimits(max_entries=1000, max_bytes=1 << 30, ttl=None, timeout=5.0, threads=2)


@pytest.fixture(scope="module")
def forged() -> bytes:
    return oracle_prover.prove(FIB, (10,), profile="test", outputs=(56,), cheat="downgrade")


def test_store_serves_a_forged_test_profile_receipt_with_false_outputs(forged: bytes) -> None:
    """README: someone who can write to a store 'can make the runtime prove more, never
    accept a false receipt'. A request for profile='test' (per request, even on a runtime
    whose own profile is 'default') is answered from the store after verifying at
    own_receipts_minimum('test') == 0, so a ~2^16-work forgery of fib(10) = 56 is served."""
    assert execute(FIB, [10]).outputs == (55,)

    async def main() -> tuple[int, ...]:
        store = open_store(parse_store_url("memory://"), LIMITS)
        entry = encode_entry(Receipt.from_bytes(forged), execute(FIB, [10]).cycles)
        await store.put(store_key(CacheKey(FIB.hash, (10,), "test")), entry)
        config = RuntimeConfig(profile="default", max_parallel=1, calibrate="off", store="memory://")
        async with ZkRuntime(config, _store=store) as rt:
            receipt = await rt.prove(FIB, (10,), profile="test")
        return receipt.outputs

    outputs = anyio.run(main)
    assert outputs == (55,), f"the runtime served a forged receipt: fib(10) = {outputs}"


@pytest.mark.parametrize("bits", [10**400, 2**1024])
def test_a_huge_integer_minimum_is_a_value_error_not_overflow(bits: int) -> None:
    """check_min_security_bits documents TypeError/ValueError only; float(int) overflows.
    examples/service.py catches (TypeError, ValueError) around it, so a JSON body with
    "min_security_bits": 1e400-as-an-integer is a 500, not a 422."""
    receipt_bytes = b""
    with pytest.raises(ValueError):
        profiles.check_min_security_bits(bits)


def test_the_service_answers_a_huge_integer_minimum_with_422_not_500() -> None:
    import base64

    from starlette.testclient import TestClient
    from test_service import service

    import zkactors

    receipt = zkactors.prove(FIB, [5], profile="default")
    body = (
        '{"program": "fib", "receipt": "%s", "min_security_bits": 1%s}'
        % (base64.b64encode(receipt.to_bytes()).decode(), "0" * 400)
    )
    app = service.create_app(RuntimeConfig(calibrate="off", max_parallel=1))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/verify", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, (response.status_code, response.text[:200])
