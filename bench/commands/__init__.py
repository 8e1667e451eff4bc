"""The `bench` subcommands, one module per job (registered in bench/cli.py), and the options and endings they share."""
