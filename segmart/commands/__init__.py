"""One module per `segmart` command: `add_arguments(parser)` and `main(args) -> int`."""
