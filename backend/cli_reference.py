"""The command-line reference as Markdown, written from the parser itself, so the manual's
page and `semvec COMMAND --help` cannot disagree. The manual marks the place with
`MARKER`; both the MkDocs build and the page's Help link fill it from here."""

import argparse

from backend.cli import build_parser

MARKER = "<!-- semvec-cli-reference -->"


def fill(markdown: str) -> str:
    """`markdown` with the reference in place of `MARKER` (unchanged without one)."""
    return markdown.replace(MARKER, reference()) if MARKER in markdown else markdown


def reference() -> str:
    """Every command of `semvec`, in the parser's order: what it does, its usage, and a
    table of its arguments with their defaults."""
    parser = build_parser()
    sections = []
    for name, command, summary in _commands(parser, "semvec"):
        sections.append(_section(name, command, summary))
    return "\n\n".join(sections) + "\n"


def _commands(parser: argparse.ArgumentParser, prefix: str):
    """(full name, parser, one-line help) of every leaf command under `parser`."""
    subs = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if subs is None:
        return
    summaries = {choice.dest: choice.help for choice in subs._choices_actions}
    for name, command in subs.choices.items():
        full = f"{prefix} {name}"
        has_subcommands = any(isinstance(a, argparse._SubParsersAction) for a in command._actions)
        if has_subcommands:
            yield from _commands(command, full)
        else:
            yield full, command, summaries.get(name) or ""


def _section(name: str, command: argparse.ArgumentParser, summary: str) -> str:
    usage = command.format_usage().removeprefix("usage: ").strip()
    usage = " ".join(usage.split())  # one line: the page wraps it, not the terminal width
    lines = [f"### `{name}`", ""]
    if summary:
        lines += [summary[0].upper() + summary[1:] + ".", ""]
    lines += ["```text", usage, "```"]
    rows = [_row(action) for action in command._actions if _documented(action)]
    if rows:
        lines += ["", "| argument | default | what it sets |", "|---|---|---|", *rows]
    return "\n".join(lines)


def _documented(action: argparse.Action) -> bool:
    return not isinstance(action, argparse._HelpAction) and action.help != argparse.SUPPRESS


def _row(action: argparse.Action) -> str:
    if action.option_strings:
        value = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
        name = ", ".join(f"`{s}{value}`" for s in action.option_strings)
    else:
        name = f"`{action.metavar or action.dest.upper()}`"
    what = action.help or ""
    if action.choices is not None:
        choices = ", ".join(f"`{c}`" for c in action.choices)
        what = f"{what} (one of {choices})" if what else f"one of {choices}"
    return f"| {name} | {_default(action)} | {_cell(what)} |"


def _default(action: argparse.Action) -> str:
    if isinstance(action, argparse._StoreTrueAction):
        return "off"
    if not action.option_strings:
        return "required" if action.nargs is None else f"`{action.default}`"
    if action.default in (None, [], argparse.SUPPRESS):
        return "—"
    return f"`{action.default}`"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())
