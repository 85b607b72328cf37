"""Number fields that say what they accept: the range beside the label, the value as the
user typed it (the browser is given no min/max, so it never drops a value silently), and a
refusal in the page's words."""

from dataclasses import dataclass

from dash import dcc

from app.components.ui import field


@dataclass(frozen=True)
class Range:
    """What a number field accepts. `name` is how a sentence calls it ("epochs")."""

    name: str
    low: float
    high: float
    integer: bool = True

    def text(self) -> str:
        return f"{self.low:g} … {self.high:g}"

    def problem(self, value) -> str | None:
        """Why `value` is refused, in words; None when it is fine."""
        if value is None or value == "":
            kind = "a whole number" if self.integer else "a number"
            return f"Give the {self.name}: {kind} from {self.low:g} to {self.high:g}."
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"The {self.name} must be a number from {self.low:g} to {self.high:g}."
        if self.integer and number != int(number):
            return f"The {self.name} must be a whole number ({self.text()}); {number:g} is not."
        if not self.low <= number <= self.high:
            side = "small" if number < self.low else "large"
            return (
                f"The {self.name} must be from {self.low:g} to {self.high:g}; "
                f"{number:g} is too {side}."
            )
        return None

    def value(self, value) -> int | float:
        """`value` (already checked) as an int or a float."""
        return int(float(value)) if self.integer else float(value)


def problems(checks: list[tuple[Range, object]]) -> list[str]:
    """The refusals of every (range, value) pair that fails."""
    return [p for rng, value in checks if (p := rng.problem(value)) is not None]


def number_field(component_id: str, label: str, rng: Range, **props):
    """A labelled number box that shows its range: `Epochs (1 … 1000)`."""
    box = dcc.Input(id=component_id, type="number", step=1 if rng.integer else "any", **props)
    return field(f"{label} ({rng.text()})", box)
