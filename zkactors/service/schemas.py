"""The request and response bodies of the prover service, as pydantic models.

They validate what comes in (strictly: a string is not an integer, a boolean is not
one either) and describe what goes out; the OpenAPI document is built from them. Range
checks that belong to the zkVM (an input in [0, p), a known profile) stay with the
runtime, whose typed errors the service turns into 422s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

Inputs = list[StrictInt] | dict[str, StrictInt]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _ProgramRequest(_Request):
    program: str | None = Field(None, description="a built-in program's name")
    source: str | None = Field(None, description="zkasm assembly text")

    @model_validator(mode="after")
    def _exactly_one(self) -> _ProgramRequest:
        if (self.program is None) == (self.source is None):
            raise ValueError('give exactly one of "program" (a name) and "source"')
        return self


class ProveRequest(_ProgramRequest):
    inputs: Inputs = Field(
        default_factory=list,
        description="in .input order, or by input name; a program with 'read' (instruction "
        "set v2) takes its stream inputs after the .input values (the list form only; up "
        "to 2^16 values in all)",
    )
    profile: str | None = Field(None, description="security profile (the service's default)")


class VerifyRequest(_ProgramRequest):
    receipt: str = Field(description="the receipt's bytes, base64")
    min_security_bits: StrictInt | StrictFloat | None = Field(
        None, description="ask for more than the service's minimum (never less)"
    )


_INPUTS = "the statement's inputs: the .input values, then any stream inputs"
_OUTPUTS = "the statement's outputs: the .output registers, then any written values"
_WRITTEN = "the values the run wrote with 'write' (the outputs after the .output registers)"
_AIR = "the AIR the receipt proves its statement under: 1 (register AIR, receipt format 2) "
_AIR += "or 2 (machine AIR, format 3)"


class ProveResponse(BaseModel):
    program_hash: str
    inputs: list[int] = Field(description=_INPUTS)
    outputs: list[int] = Field(description=_OUTPUTS)
    written: list[int] = Field(description=_WRITTEN)
    air: int = Field(description=_AIR)
    cycles: int
    trace_length: int
    profile: str
    source: Literal["cache", "store", "proved", "coalesced"] = Field(
        description="how the runtime answered: its cache, the receipt store, a new proof, "
        "or one already running"
    )
    receipt: str = Field(description="base64")
    receipt_bytes: int


class VerifyAccepted(BaseModel):
    valid: Literal[True]
    program_hash: str
    inputs: list[int] = Field(description=_INPUTS)
    outputs: list[int] = Field(description=_OUTPUTS)
    written: list[int] = Field(description=_WRITTEN)
    air: int = Field(description=_AIR)
    profile: str
    security_bits: float
    min_security_bits: float


class VerifyRejected(BaseModel):
    valid: Literal[False]
    check: str = Field(description="the verification check that failed")
    reason: str


class ErrorBody(BaseModel):
    """Every error: ``error`` names it, ``message`` says it; some carry more fields
    (``line``/``column`` of an assembly error, ``estimate`` and ``limits`` of a cost
    refusal, ``errors`` of a schema violation)."""

    model_config = ConfigDict(extra="allow")
    error: str
    message: str


class Programs(BaseModel):
    programs: list[str]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: Literal["ready", "starting", "draining", "stopped"]
    store: Literal["ok", "degraded", "none", "unknown"]


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template="#/components/schemas/{model}")


__all__ = [
    "ErrorBody",
    "Health",
    "Programs",
    "ProveRequest",
    "ProveResponse",
    "Readiness",
    "VerifyAccepted",
    "VerifyRejected",
    "VerifyRequest",
]
