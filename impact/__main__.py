"""``python -m impact``: the same as the ``impact`` command."""

from impact.entry import main

if __name__ == "__main__":
    main()
