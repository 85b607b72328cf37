"""The Distillation tab: start distillation jobs for several methods and seeds, watch the
students' accuracy climb, and compare static KD (no teacher at training time) with the
methods that run the teacher. The callbacks live in the submodules."""

from dash import dcc, html

from app.components.ranges import Range, number_field
from app.components.ui import CHART_CONFIG, field, message

LAMBDA = Range("λ for the knowledge-file methods", 0.01, 30.0, integer=False)
"""What the form offers: static is stable over it (bench-kd's stability part, 5 seeds at
each end, at the default ρ 1: 95.3 % at 0.01, 96.4 % at 30; at ρ 10 96.9 and 97.5) and
collapses above (53 % ± 30 at λ 100 with ρ 10, one seed at chance). Left empty, each
method takes its own default."""
BETA = Range("β of the soft target", 0.1, 10.0, integer=False)
RHO = Range("ρ of the relation term", 0.0, 100.0, integer=False)
"""β and ρ of static and static_free: the API's ranges, stable at both ends (bench-kd)."""
SEEDS = Range("number of seeds", 1, 10)
EPOCHS = Range("number of epochs", 1, 1000)


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, config=CHART_CONFIG, className="kd-graph")


def layout() -> html.Div:
    form = html.Fieldset(
        [
            html.Legend("Distill a student"),
            field("Teacher run", dcc.Dropdown(id="distill-teacher", clearable=False)),
            html.Div(id="distill-teacher-facts", className="teacher-facts"),
            field(
                "Student architecture",
                # The server proposes one that fits the teacher's images (student.py).
                dcc.Dropdown(id="distill-student", clearable=False, placeholder="…"),
            ),
            html.Div(id="distill-student-note", className="muted", style={"marginBottom": "8px"}),
            dcc.Store(id="distill-student-proposed"),
            field(
                "Methods",
                # The options come from the server's method registry (launch.py).
                dcc.Checklist(id="distill-methods", options=[], value=["ce", "static"]),
            ),
            number_field("distill-seeds", "Seeds", SEEDS, value=3),
            number_field("distill-epochs", "Epochs", EPOCHS, value=30),
            number_field("distill-lam", "λ for the knowledge-file methods", LAMBDA),
            html.Div(
                number_field("distill-beta", "β, sharpness of the soft target", BETA),
                title="static and static_free: the soft target of class y is softmax(β P[y] / T), "
                "P the equiangular simplex: it allows a true-class margin of about β logits",
            ),
            html.Div(
                number_field("distill-rho", "ρ, weight of the relation term", RHO),
                title="static and static_free: ρ weighs the term that pulls the cosines of the "
                "student's penultimate features to S",
            ),
            field(
                "Training images",
                dcc.Dropdown(
                    id="distill-train-size",
                    options=[
                        {"label": "the whole training split", "value": 0},
                        {"label": "200 (where distillation matters most)", "value": 200},
                        {"label": "500", "value": 500},
                    ],
                    value=0,
                    clearable=False,
                ),
            ),
            html.Div(id="distill-plan", className="plan"),
            html.Button("Start jobs", id="distill-go", className="primary", n_clicks=0),
            html.Div(id="distill-message"),
            dcc.Store(id="distill-confirm"),
            dcc.Store(id="distill-method-info"),
            dcc.Store(id="distill-teacher-info"),
        ],
        className="form",
    )
    charts = html.Div(
        [
            _graph("distill-curves"),
            _graph("distill-summary"),
            html.Div([_graph("distill-final"), _graph("distill-seconds")], className="kd-row"),
            html.H2("Distillation jobs"),
            html.Div(id="distill-filter", className="muted"),
            html.Div(message("No distillation jobs for this teacher yet."), id="distill-jobs"),
            html.H2("Teacher vs student"),
            html.P(
                "A student's neurons (diamonds) placed on the teacher's map among the teacher "
                "neurons they correlate with most on held-out images; the class (logit) "
                "neurons are matched one to one.",
                className="muted",
            ),
            field("Student run", dcc.Dropdown(id="distill-pair-student")),
            html.Div(id="distill-pair-status"),
            html.Button(
                "Draw this student on the teacher's map (starts a matching job)",
                id="distill-pair-go",
                n_clicks=0,
                style={"display": "none"},
            ),
            dcc.Graph(id="distill-pair-map", config={"displaylogo": False}, className="pair-graph"),
        ],
        className="distill-main",
    )
    return html.Div(
        [
            html.Div(form, className="distill-form"),
            charts,
            dcc.Interval(id="distill-poll", interval=1500, disabled=True),
        ],
        className="distill",
    )


from app.pages.distill import launch, pairing, plan, progress, student, teacher  # noqa: E402, F401
