"""The student the form proposes: the server's choice for the teacher's input (the digits
CNN for greyscale or tiny images, a CIFAR ResNet for colour photos), unless someone chose
one: a student named in the page's link, or picked in the list, stays; a note says what
was proposed and why."""

from dash import Input, Output, State, callback, no_update


@callback(
    Output("distill-student", "value", allow_duplicate=True),
    Output("distill-student-proposed", "data"),
    Input("distill-teacher-info", "data"),
    State("distill-student", "value"),
    State("distill-student-proposed", "data"),
    prevent_initial_call=True,
)
def distill_student(facts, student, proposed):
    """`proposed`: the last student proposed here; a different one was chosen by someone."""
    if not facts or not facts.get("student"):
        return no_update, no_update
    if student is not None and student not in (proposed, facts["student"]):
        return no_update, no_update
    return facts["student"], facts["student"]


@callback(
    Output("distill-student-note", "children"),
    Input("distill-student", "value"),
    Input("distill-teacher-info", "data"),
)
def distill_student_note(student, facts):
    if not facts or not facts.get("student"):
        return None
    shape = facts["input"]
    colour = "greyscale" if shape["channels"] == 1 else "colour"
    why = f"proposed for this teacher's {colour} {shape['size']}-px images"
    # None: the proposal is on its way into the list (distill_student)
    proposed = student in (None, facts["student"])
    return why.capitalize() if proposed else f"{facts['student']} is {why}"
