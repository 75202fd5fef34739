"""Which line of ``git ls-remote`` output a configured ref means."""

from __future__ import annotations


def pick(ls_remote: str, ref: str) -> tuple[str, str] | None:
    """The full ref name and commit for ``ref`` (empty or ``HEAD``: the remote's HEAD, as in
    git-sync, whose default ref is ``HEAD``) in ``ls-remote`` output.

    A short name prefers a branch to a tag, as git does, and an annotated tag is
    followed to its commit (the ``^{}`` line). ``None`` when the remote lacks it.
    """
    refs: dict[str, str] = {}
    for line in ls_remote.splitlines():
        commit, _, name = line.partition("\t")
        if name:
            refs[name.strip()] = commit.strip()
    if not ref or ref == "HEAD":
        candidates = ["HEAD"]
    elif ref.startswith("refs/"):
        candidates = [f"{ref}^{{}}", ref]
    else:
        candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}"]
    for candidate in candidates:
        if candidate in refs:
            return candidate.removesuffix("^{}"), refs[candidate]
    return None
