# Type stub for the Cython module built from ext/verifier.pyx.
from typing_extensions import Buffer

def verify(
    receipt: Buffer, program: Buffer, min_security_bits: float
) -> tuple[str, str] | None: ...
def check_name(code: int) -> str: ...
