"""Which files an ``include`` pattern of the config names.

Its own module so that the CLI can tell whether the files behind a remembered
config changed without importing the config's validators.
"""

from __future__ import annotations

from pathlib import Path


def include_matches(base: Path, pattern: str) -> list[Path]:
    """The paths an ``include`` pattern names, sorted; ValueError says why it names none.

    Relative patterns are taken from ``base`` (the config's folder), absolute ones
    as they are.
    """
    if not pattern.strip():
        raise ValueError('is empty; write a path or a pattern, e.g. "people/*.toml"')
    path = Path(pattern).expanduser()
    root, rest = (
        (Path(path.anchor), str(path.relative_to(path.anchor)))
        if path.is_absolute()
        else (base, pattern)
    )
    if rest in ("", "."):
        # Path.glob("") and glob(".") fail; the folder itself is what was named.
        return [root]
    try:
        return sorted(root.glob(rest))
    # What Path.glob raises for a pattern it cannot take: ValueError ("**" inside a
    # name), IndexError, and NotImplementedError for a non-relative one (Python 3.11).
    except (ValueError, IndexError, NotImplementedError) as exc:
        raise ValueError(
            f'is not a file pattern ({exc or type(exc).__name__}); write e.g. "people/*.toml"'
        ) from None
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror}); check the folder's mode") from None
