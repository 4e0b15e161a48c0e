"""The ``convt`` command line: a thin shell over the library (no math here).

Each subcommand lives in :mod:`convt.commands` as a module with ``HELP``,
``configure(parser)`` and ``run(args) -> int``; heavy dependencies are
imported inside ``run``. A bad argument or value exits with status 2 and one
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import ConvError

__all__ = ["COMMANDS", "main"]

#: subcommand name -> module in convt.commands
COMMANDS: dict[str, str] = {
    "translate": "convt.commands.translate",
    "bench": "convt.commands.bench",
    "demo": "convt.commands.demo",
    "study": "convt.commands.study",
    "explain": "convt.commands.explain",
    "draw": "convt.commands.draw",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="convt", description="Convolution and transposed convolution, exact and explained.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, modname in COMMANDS.items():
        mod = importlib.import_module(modname)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.configure(p)
        p.set_defaults(_run=mod.run, _prog=f"convt {name}")
    return parser


def _negative_values_attached(argv: Sequence[str]) -> list[str]:
    """``--padding -1:2`` as ``--padding=-1:2``: argparse takes a value starting with ``-`` for an option
    unless it is a plain negative number, and crops are written ``-1``, ``-1:2`` or ``0,-1``.

    >>> _negative_values_attached(["explain", "--padding", "-1:2", "--stride", "2"])
    ['explain', '--padding=-1:2', '--stride', '2']
    """
    out: list[str] = []
    for tok in argv:
        prev = out[-1] if out else ""
        if (prev.startswith("--") and "=" not in prev and len(tok) > 1 and tok[0] == "-" and tok[1].isdigit()):
            out[-1] = f"{prev}={tok}"
        else:
            out.append(tok)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(_negative_values_attached(sys.argv[1:] if argv is None else argv))
    try:
        return int(args._run(args) or 0)
    except (ConvError, ValueError, TypeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"{args._prog}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. `convt explain | head`
        return 0
    except OSError as e:  # a file or folder that cannot be written or read
        where = f": {e.filename}" if e.filename else ""
        print(f"{args._prog}: error: {e.strerror or type(e).__name__}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
