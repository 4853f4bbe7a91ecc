"""Shared by the benchmark scripts: rewriting one marked section of BENCHMARKS.md."""

from pathlib import Path


def replace_section(md_path: Path, name: str, body: str) -> None:
    """Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` (appended when absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = md_path.read_text() if md_path.exists() else "# Benchmarks\n"
    i, j = text.find(begin), text.find(end)
    text = text[:i] + block + text[j + len(end):] if 0 <= i < j else text.rstrip("\n") + "\n\n" + block + "\n"
    md_path.write_text(text)
    print(f"updated {md_path} ({name} section)")
