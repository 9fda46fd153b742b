"""`python -m bot` is the same as `cbt-companion`."""

from bot.cli import main

main()
