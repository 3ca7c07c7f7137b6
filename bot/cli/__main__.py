"""`python -m bot.cli …` is `neuraltalk …`."""

from bot.cli.main import main

main()
