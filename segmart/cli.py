"""The `segmart` command line.

Each command lives in its own module exposing `add_arguments(parser)` and
`main(args) -> int`; modules are imported only when their command runs, so
`segmart --help` stays fast and one broken part never hides the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from segmart.core.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "demo-api": ("demo_api.cli", "serve the bundled demo source APIs"),
    "extract": ("extract.cli", "pull API slices into landing files and load them into raw tables"),
    "collect": ("collect.cli", "receive webhooks and tracking batches (or --load them into raw)"),
    "transform": ("segmart.commands.transform", "dbt build of staging, intermediate and marts"),
    "validate": ("segmart.commands.validate", "run the quality gate (GX suites + dbt tests)"),
    "publish": ("segmart.commands.publish", "publish audited marts to the published database"),
    "run": ("segmart.commands.run", "extract -> load -> dbt build -> gate -> publish"),
    "status": (
        "segmart.commands.status",
        "watermarks, last runs, last gate decision, what is published",
    ),
    "demo": ("segmart.commands.demo", "demo API on a free port plus `segmart run` against it"),
    "sources": ("segmart.commands.sources", "configured sources, their Airflow pools, connections"),
    "manifest": ("segmart.commands.manifest", "build the dbt manifest the Airflow DAG renders"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="segmart", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Only the chosen command's module is imported; the others are listed by name.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserError as error:
        # Something the person must change: one line that says what and how, no traceback.
        print(f"segmart {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
