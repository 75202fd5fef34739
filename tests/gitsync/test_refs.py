"""Choosing the commit a configured ref means from ``git ls-remote`` output."""

from __future__ import annotations

from sidecars.gitsync.refs import pick

LS_REMOTE = "\n".join(
    [
        "1111111111111111111111111111111111111111\tHEAD",
        "2222222222222222222222222222222222222222\trefs/heads/main",
        "3333333333333333333333333333333333333333\trefs/tags/main",
        "4444444444444444444444444444444444444444\trefs/tags/v1",
        "5555555555555555555555555555555555555555\trefs/tags/v1^{}",
        "6666666666666666666666666666666666666666\trefs/tags/light",
    ]
)


def test_empty_ref_means_the_remote_head() -> None:
    assert pick(LS_REMOTE, "") == ("HEAD", "1" * 40)


def test_a_branch_wins_over_a_tag_of_the_same_name() -> None:
    assert pick(LS_REMOTE, "main") == ("refs/heads/main", "2" * 40)


def test_annotated_tags_are_followed_to_their_commit() -> None:
    assert pick(LS_REMOTE, "v1") == ("refs/tags/v1", "5" * 40)
    assert pick(LS_REMOTE, "refs/tags/v1") == ("refs/tags/v1", "5" * 40)
    assert pick(LS_REMOTE, "light") == ("refs/tags/light", "6" * 40)


def test_missing_ref() -> None:
    assert pick(LS_REMOTE, "nope") is None
    assert pick("", "") is None
