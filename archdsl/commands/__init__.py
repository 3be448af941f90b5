"""One module per `archdsl` subcommand; each has `add_parser(subparsers)` and `run(args) -> int`."""
