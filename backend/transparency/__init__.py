"""Where the money goes: the public figures of issue 15 (``docs/transparency.md``)."""
