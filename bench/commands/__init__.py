"""The `bench` subcommands beyond `up`, one module per job (registered in bench/cli.py)."""
