"""gitops: every change in a worktree of its own on a new amas/ branch; the repository's
checked-out branch, HEAD and working tree never change."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.agents.scope import CodeScope
from actors.errors import InvalidParameter, OutOfScope
from actors.workflows import gitops
from actors.workflows.gitops import GitError
from tests.fixtures.planted_repo import PlantedRepo, git, make_repo

UNUSED_IMPORT = ("app/paths.py", "F401")

PASSWORD_FIX = """\
--- a/app/settings.py
+++ b/app/settings.py
@@ -3,2 +3,4 @@
+import os
+
 DATABASE_URL = "postgresql://app@localhost/app"
-password = "hunter2-staging"
+password = os.environ["APP_PASSWORD"]
"""

STALE_FIX = PASSWORD_FIX.replace("hunter2-staging", "a different password")

ESCAPING_PATCHES = {
    "a parent folder": """\
--- /dev/null
+++ b/../outside.py
@@ -0,0 +1 @@
+print("out of the worktree")
""",
    "the git folder": """\
--- /dev/null
+++ b/.git/hooks/post-commit
@@ -0,0 +1 @@
+echo a hook of the patch's
""",
    "a symlink": """\
diff --git a/link b/link
new file mode 120000
--- /dev/null
+++ b/link
@@ -0,0 +1 @@
+..
\\ No newline at end of file
diff --git a/link/outside.py b/link/outside.py
new file mode 100644
--- /dev/null
+++ b/link/outside.py
@@ -0,0 +1 @@
+x
""",
}


@pytest.fixture
def planted(tmp_path: Path) -> PlantedRepo:
    return make_repo(tmp_path / "repo")


def snapshot(repo: Path) -> tuple[str, str, str, str]:
    """What must never change: the checked-out branch, HEAD, the working tree and index
    (status, ignored files too), and the list of worktrees."""
    return (
        git(repo, "symbolic-ref", "--short", "HEAD"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all"),
        git(repo, "worktree", "list", "--porcelain"),
    )


async def test_a_worktree_is_a_new_branch_in_a_fresh_folder_removed_on_exit(planted, tmp_path):
    repo = planted.path
    before = snapshot(repo)
    _, head = await gitops.head_of(repo)
    parent = tmp_path / "trees"
    parent.mkdir()

    async with gitops.worktree(repo, "amas/fix-1", parent=parent) as tree:
        assert tree.parent.parent == parent
        assert (tree / "app/paths.py").read_text() == (repo / "app/paths.py").read_text()
        assert await gitops.head_of(tree) == ("amas/fix-1", head)
        assert await gitops.head_of(repo) == ("main", head)
        assert snapshot(repo)[:3] == before[:3]
        assert str(tree) in git(repo, "worktree", "list")

    assert not tree.exists()
    assert list(parent.iterdir()) == []
    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "amas/fix-1").strip() == head


async def test_a_fix_committed_in_the_worktree_is_on_its_branch_and_nothing_else_moves(planted):
    repo = planted.path
    before = snapshot(repo)
    file, rule = UNUSED_IMPORT

    async with gitops.worktree(repo, "amas/fix-f401") as tree:
        assert await gitops.autofix(tree, file, rule) is True
        assert snapshot(repo)[:3] == before[:3]
        assert await gitops.changed_files(tree) == [file]
        proposed = await gitops.diff(tree)
        assert snapshot(repo)[:3] == before[:3]
        sha = await gitops.commit(tree, "Remove the unused import os")
        assert snapshot(repo)[:3] == before[:3]
        assert await gitops.changed_files(tree) == []
        assert await gitops.changed_files(tree, "main") == [file]

    assert snapshot(repo) == before
    assert "\n-import os\n" in proposed and proposed.startswith("diff --git a/app/paths.py")
    logged = git(repo, "log", "amas/fix-f401", "-1", "--format=%H|%an <%ae>|%cn|%s").strip()
    assert logged == f"{sha}|AMAS <amas@localhost>|AMAS|Remove the unused import os"
    assert git(repo, "rev-parse", "amas/fix-f401~1") == git(repo, "rev-parse", "main")
    assert "import os\n" in (repo / file).read_text()


async def test_commit_with_nothing_changed_makes_no_commit(planted):
    async with gitops.worktree(planted.path, "amas/nothing") as tree:
        assert await gitops.commit(tree, "Nothing") is None
        assert await gitops.autofix(tree, "app/grading.py", "F401") is False
        assert await gitops.commit(tree, "Still nothing") is None

    assert git(planted.path, "rev-parse", "amas/nothing") == git(planted.path, "rev-parse", "main")


async def test_a_proposed_diff_applies_and_one_that_does_not_changes_nothing(planted):
    repo = planted.path
    before = snapshot(repo)

    async with gitops.worktree(repo, "amas/stale") as tree:
        assert await gitops.apply_patch(tree, STALE_FIX) is False
        assert await gitops.apply_patch(tree, "not a diff at all\n") is False
        assert await gitops.changed_files(tree) == []
    async with gitops.worktree(repo, "amas/password") as tree:
        assert await gitops.apply_patch(tree, PASSWORD_FIX) is True
        assert await gitops.changed_files(tree) == ["app/settings.py"]
        proposed = await gitops.diff(tree)
    async with gitops.worktree(repo, "amas/password-again") as tree:
        assert await gitops.apply_patch(tree, proposed) is True
        assert 'os.environ["APP_PASSWORD"]' in (tree / "app/settings.py").read_text()

    assert snapshot(repo) == before


@pytest.mark.parametrize("through", sorted(ESCAPING_PATCHES))
async def test_a_patch_reaching_outside_the_worktree_is_refused(planted, through):
    async with gitops.worktree(planted.path, "amas/escape") as tree:
        assert await gitops.apply_patch(tree, ESCAPING_PATCHES[through]) is False
        assert await gitops.changed_files(tree) == []
        assert not (tree.parent / "outside.py").exists()


async def test_changed_files_and_diff_show_new_and_deleted_files(planted):
    async with gitops.worktree(planted.path, "amas/files") as tree:
        (tree / "app/legacy.py").unlink()
        (tree / "app/new.py").write_text('"""New."""\n')

        assert await gitops.changed_files(tree) == ["app/legacy.py", "app/new.py"]
        proposed = await gitops.diff(tree)
        assert "deleted file mode" in proposed and "new file mode" in proposed
        # The worktree's own index is as it was: the deletion unstaged, the new file untracked.
        assert git(tree, "status", "--porcelain") == " D app/legacy.py\n?? app/new.py\n"


@pytest.mark.parametrize(
    "branch",
    ["main", "master", "MAIN", "amas/master", "fix-it", "feature/amas/x", "amas/../x", "amas/x."],
)
async def test_a_branch_name_not_amas_to_make_is_refused_before_git_runs(
    planted, tmp_path, monkeypatch, branch
):
    before = snapshot(planted.path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))

    with pytest.raises(GitError, match=r"^refused: "):
        async with gitops.worktree(planted.path, branch):
            pass

    monkeypatch.undo()
    assert snapshot(planted.path) == before


async def test_an_existing_branch_and_the_checked_out_one_are_refused(planted, tmp_path):
    repo = planted.path
    git(repo, "branch", "amas/taken")
    git(repo, "checkout", "--quiet", "-b", "amas/current")
    before = snapshot(repo)
    parent = tmp_path / "trees"
    parent.mkdir()

    for branch, said in [
        ("amas/taken", "exists already"),
        ("amas/current", "checked out"),
        ("amas/Current", "checked out"),
    ]:
        with pytest.raises(GitError, match=said):
            async with gitops.worktree(repo, branch, parent=parent):
                pass

    assert snapshot(repo) == before
    assert list(parent.iterdir()) == []


async def test_the_worktree_goes_and_the_branch_stays_when_the_work_fails(planted):
    with pytest.raises(RuntimeError, match="the fix broke"):
        async with gitops.worktree(planted.path, "amas/broken") as tree:
            (tree / "app/paths.py").write_text("half a fix")
            raise RuntimeError("the fix broke")

    assert not tree.parent.exists()
    assert "amas/broken" in git(planted.path, "branch", "--list", "amas/broken")
    assert git(planted.path, "worktree", "list", "--porcelain").count("worktree ") == 1


async def test_the_writing_functions_refuse_a_folder_that_is_not_an_amas_worktree(planted):
    repo = planted.path
    other = repo.parent / "feature-tree"
    git(repo, "worktree", "add", "--quiet", "-b", "feature", str(other))
    git(repo, "checkout", "--quiet", "-b", "amas/checked-out-by-hand")
    before = snapshot(repo)

    for tree in (repo, other, repo / "app"):
        with pytest.raises(GitError, match=r"refused: .* not the top of a worktree"):
            await gitops.apply_patch(tree, PASSWORD_FIX)
        with pytest.raises(GitError, match="refused"):
            await gitops.autofix(tree, *UNUSED_IMPORT)
        with pytest.raises(GitError, match="refused"):
            await gitops.commit(tree, "Sneak a commit in")

    assert snapshot(repo)[:3] == before[:3]
    assert git(other, "status", "--porcelain") == ""


async def test_autofix_refuses_a_rule_it_cannot_fix_and_a_file_outside_the_worktree(planted):
    async with gitops.worktree(planted.path, "amas/refusals") as tree:
        with pytest.raises(InvalidParameter, match="B602"):
            await gitops.autofix(tree, "app/shell.py", "B602")
        for file in ("../repo/app/paths.py", "/etc/passwd", "."):
            with pytest.raises(InvalidParameter, match="not a file inside"):
                await gitops.autofix(tree, file, "F401")
        with pytest.raises(InvalidParameter, match="cannot read"):
            await gitops.autofix(tree, "app/missing.py", "F401")
        with pytest.raises(InvalidParameter, match="Name <email>"):
            await gitops.commit(tree, "Who?", author="nobody")


async def test_the_repository_must_be_a_top_folder_inside_the_scope(planted, tmp_path):
    elsewhere = CodeScope((tmp_path / "elsewhere",))

    with pytest.raises(GitError, match="not the top folder"):
        async with gitops.worktree(planted.path / "app", "amas/below"):
            pass
    with pytest.raises(OutOfScope):
        async with gitops.worktree(planted.path, "amas/out", scope=elsewhere):
            pass
    with pytest.raises(GitError, match="not a git repository"):
        await gitops.head_of(tmp_path)
    with pytest.raises(GitError, match="'no-such-base' is not a commit"):
        async with gitops.worktree(planted.path, "amas/x", base="no-such-base"):
            pass


async def test_git_needs_no_user_config_and_runs_none_of_the_repositorys_programs(
    planted, tmp_path, monkeypatch
):
    repo = planted.path
    home = tmp_path / "home"
    home.mkdir()
    marker = tmp_path / "a-hook-ran"
    for hook in ("post-checkout", "pre-commit", "commit-msg", "post-commit"):
        path = repo / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
        path.chmod(0o755)
    git(repo, "config", "commit.gpgSign", "true")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "not-a-repository"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "not-an-index"))

    async with gitops.worktree(repo, "amas/no-config") as tree:
        await gitops.autofix(tree, *UNUSED_IMPORT)
        sha = await gitops.commit(tree, "Commit as AMAS", author="Fixer <fixer@example.test>")

    assert not marker.exists()
    assert git(repo, "log", "-1", "--format=%an <%ae>|%G?", sha or "").strip() == (
        "Fixer <fixer@example.test>|N"
    )


async def test_require_git_says_how_to_install_git_when_it_is_missing(
    planted, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))

    with pytest.raises(GitError, match=r"git is needed .* install it \(apt-get install git\)"):
        gitops.require_git()
    with pytest.raises(GitError, match="git is needed"):
        await gitops.head_of(planted.path)


async def test_a_git_command_is_stopped_at_the_timeout(planted, monkeypatch):
    monkeypatch.setattr(gitops, "TIMEOUT", 0.000001)

    with pytest.raises(GitError, match="took longer than"):
        await gitops.head_of(planted.path)


async def test_head_of_a_detached_head_is_head_and_its_sha(planted):
    git(planted.path, "checkout", "--quiet", "--detach", "HEAD~1")

    branch, sha = await gitops.head_of(planted.path)

    assert (branch, sha) == ("HEAD", git(planted.path, "rev-parse", "HEAD").strip())
