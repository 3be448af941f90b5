"""The `archdsl` command: one module per subcommand, each with
`add_parser(subparsers)` and `run(args) -> int`; `main` dispatches."""
from archdsl.cli.main import main, run

__all__ = ["main", "run"]
