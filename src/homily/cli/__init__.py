"""The `homily` command line: serve, init and admin (argparse; `--help` on every command)."""
