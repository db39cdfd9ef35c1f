from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_is_at_most_12_kb_and_starts_with_the_two_commands():
    text = README.read_text()
    assert len(text.encode()) <= 12 * 1024, len(text.encode())
    blocks = text.split("```sh\n")[1:3]
    assert "miiii reproduce" in blocks[0] and "pytest" in blocks[1]
    assert text.index("```sh") < text.index("## Commands")  # the two commands come first
