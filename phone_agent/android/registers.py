"""A check of the helper's bytecode the assembler does not make: no
instruction reads a register that is unset, or holds different kinds of
value depending on the path taken (Android's verifier rejects such a method
when the class loads, on the phone, where nobody sees it).

Input is ``baksmali disassemble --register-info ALL,FULLMERGE`` output,
which writes the type of every register before and after each instruction
and the merge at each branch target; this module only reads that text.
Which operands an instruction reads: invoke, if, return, throw, put, the
``/2addr`` forms and ``check-cast`` read all their registers; the other
instructions write their first register and read the rest.
"""

from __future__ import annotations

import re

__all__ = ["unsafe_reads"]

_TYPE = re.compile(r"([vp]\d+)=\(([^)]*)\)")
_REG = re.compile(r"\b([vp]\d+)\b")
_READS_ALL = ("invoke-", "if-", "return", "throw", "monitor-", "iput", "sput", "aput", "fill-array-data",
              "packed-switch", "sparse-switch", "check-cast", "filled-new-array")


def _operands(instruction: str) -> tuple[str, list[str]]:
    op, _, rest = instruction.partition(" ")
    braces = re.match(r"\{([^}]*)\}", rest)
    if braces:
        body = braces.group(1)
        if ".." in body:
            first, last = (x.strip() for x in body.split(".."))
            return op, [first[0] + str(i) for i in range(int(first[1:]), int(last[1:]) + 1)]
        return op, [x.strip() for x in body.split(",") if x.strip()]
    return op, _REG.findall(rest.split('"')[0])


def _read(op: str, registers: list[str]) -> list[str]:
    if op.startswith(_READS_ALL) or op.endswith("/2addr"):
        return registers
    return registers[1:]


def unsafe_reads(annotated: str) -> list[str]:
    """Each instruction of an annotated smali file that reads an unset or
    conflicting register, as ``"<method>: <instruction>: vN is <type>"``."""
    found = []
    method = None
    types: dict[str, str] = {}
    for raw in annotated.splitlines():
        line = raw.strip()
        if line.startswith(".method"):
            method, types = line, {}
            continue
        if method is None:
            continue
        if line.startswith("#"):
            for name, kind in _TYPE.findall(line):
                types[name] = kind  # the last one written is the state before the next instruction
            continue
        if line.startswith(".end method"):
            method = None
            continue
        if not line or line.startswith((":", ".")):
            continue
        op, registers = _operands(line)
        for reg in _read(op, registers):
            kind = types.get(reg, "")
            if kind.startswith("UninitThis") and op.startswith("invoke-direct"):
                continue  # a constructor calling its super constructor
            if kind.startswith("UninitRef") and op.startswith("invoke-direct"):
                continue  # new-instance, then its constructor
            if kind.startswith(("Uninit", "Conflicted")):
                found.append(f"{method}: {line}: {reg} is {kind}")
    return found
