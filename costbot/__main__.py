"""``python -m costbot …``: the same command line as the ``costbot`` script."""

from costbot.cli import main

if __name__ == "__main__":
    main()
