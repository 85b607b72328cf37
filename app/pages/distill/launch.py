"""The form: which teachers and students there are, its settings kept in the URL's hash
(`/distill#teacher=digits-default&methods=ce,static&seeds=3...`, so a reload or a pasted
link shows the same experiment), and one job per (method, seed)."""

from urllib.parse import parse_qs, urlencode

from dash import Input, Output, State, callback, ctx, html, no_update

from app import api_client
from app.api_client import ApiError
from app.components.access import error_text
from app.components.kd_charts import method_label, ordered
from app.components.kd_summary import OFFERS, role
from app.components.ranges import problems
from app.components.ui import message
from app.components.words import count, duration
from app.pages.distill import BETA, EPOCHS, LAMBDA, RHO, SEEDS
from app.pages.distill.plan import costed, needs_confirm, plan

FORM = ("student", "methods", "seeds", "epochs", "lam", "beta", "rho", "train_size")
"""The form's fields kept in the hash besides the teacher (`distill-<field>` components)."""
LABELS = {
    "lam": "λ",
    "beta": "β",
    "rho": "ρ",
    "epochs": "Epochs",
    "seed": "Seed",
    "student": "Student architecture",
}
REAL = {"lam", "beta", "rho"}
"""The form's fields that hold a real number (the others a whole one, or text)."""


def _hash_of(search: str | None) -> dict:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("#")).items()}


def method_options(infos: list[dict]) -> list[dict]:
    """The registry's methods as checklist options, each saying what it takes of the
    teacher (its description on hover)."""
    by_name = {info["name"]: info for info in infos}
    return [
        {
            "label": html.Span(
                [method_label(m), html.Span(f" · {OFFERS[role(by_name[m])]}", className="muted")],
                title=by_name[m]["description"],
            ),
            "value": m,
        }
        for m in ordered(by_name)
    ]


@callback(
    Output("distill-teacher", "options"),
    Output("distill-teacher", "value"),
    Output("distill-student", "options"),
    Output("distill-methods", "options"),
    Output("distill-method-info", "data"),
    Output("distill-lam", "placeholder"),
    Output("distill-beta", "placeholder"),
    Output("distill-rho", "placeholder"),
    Input("distill-poll", "disabled"),
    State("distill-teacher", "value"),
    State("shell-url", "hash"),
)
async def distill_choices(disabled, teacher, url_hash):
    if disabled:
        return (no_update,) * 8
    try:
        runs, models = await api_client.runs(), await api_client.models()
        infos = await api_client.distill_methods()
    except ApiError:
        return (no_update,) * 8
    teachers = [r for r in runs if r["kind"] != "distill"]
    options = [
        {"label": f"{r['id']} ({r['arch']}, {r['dataset']})", "value": r["id"]} for r in teachers
    ]
    ids = [r["id"] for r in teachers]
    teacher = teacher or _hash_of(url_hash).get("teacher")
    if teacher not in ids:
        teacher = "digits-default" if "digits-default" in ids else (ids[0] if ids else None)
    return (
        options,
        teacher,
        models,
        method_options(infos),
        {info["name"]: info for info in infos},
        _placeholder(infos, "lam", lambda i: i["reads_knowledge"]),
        _placeholder(infos, "beta", takes_beta_rho),
        _placeholder(infos, "rho", takes_beta_rho),
    )


def takes_beta_rho(info: dict) -> bool:
    return info.get("default_beta") is not None


def _placeholder(infos: list[dict], key: str, takes) -> str:
    defaults = {i[f"default_{key}"] for i in infos if takes(i)}
    if len(defaults) == 1:
        return f"empty: {defaults.pop():g}"
    each = [f"{i['name']} {i[f'default_{key}']:g}" for i in infos if takes(i)]
    return f"empty: each method's own ({', '.join(each)})"


def _form_from(values: dict) -> list:
    """The components' values for the hash's fields (no_update where absent or unusable)."""
    out = []
    for key in FORM:
        raw = values.get(key)
        if raw is None:
            out.append(no_update)
        elif key == "methods":
            out.append([m for m in raw.split(",") if m])
        elif key == "student":
            out.append(raw)
        else:
            try:
                out.append(float(raw) if key in REAL else int(raw))
            except ValueError:
                out.append(no_update)
    return out


@callback(
    Output("shell-url", "hash"),
    *(Output(f"distill-{key.replace('_', '-')}", "value") for key in FORM),
    Input("shell-url", "hash"),
    Input("distill-teacher", "value"),
    *(Input(f"distill-{key.replace('_', '-')}", "value") for key in FORM),
    State("shell-url", "pathname"),
)
def distill_url(url_hash, teacher, *rest):
    """Form -> hash while the tab is shown; hash -> form when a page opens with one."""
    *values, pathname = rest
    if ctx.triggered_id in (None, "shell-url"):
        return no_update, *_form_from(_hash_of(url_hash))
    if (pathname or "").rstrip("/") != "/distill":
        return (no_update,) * (1 + len(FORM))
    kept = {"teacher": teacher} | dict(zip(FORM, values, strict=True))
    kept["methods"] = ",".join(kept["methods"] or [])
    kept = {k: v for k, v in kept.items() if v is not None and v != ""}
    return "#" + urlencode(kept, safe=",:"), *(no_update,) * len(FORM)


def job_configs(teacher, student, methods, seeds, epochs, train_size, settings=None) -> list:
    """One `distill` job config per (method, seed). `settings`: {key: (value, the methods
    that take it)}: λ for the methods that read the knowledge file, β and ρ for those that
    take them; a value left empty is not sent (each method takes its own default)."""
    configs = []
    for method in methods:
        for seed in range(int(seeds)):
            config = {
                "teacher": teacher,
                "student": student,
                "method": method,
                "seed": seed,
                "epochs": int(epochs),
            }
            for key, (value, takers) in (settings or {}).items():
                if method in takers and value not in (None, ""):
                    config[key] = float(value)
            if train_size:
                config["train_size"] = int(train_size)
            configs.append(config)
    return configs


@callback(
    Output("distill-message", "children"),
    Output("distill-confirm", "data"),
    Input("distill-go", "n_clicks"),
    State("distill-teacher", "value"),
    State("distill-student", "value"),
    State("distill-methods", "value"),
    State("distill-seeds", "value"),
    State("distill-epochs", "value"),
    State("distill-lam", "value"),
    State("distill-beta", "value"),
    State("distill-rho", "value"),
    State("distill-train-size", "value"),
    State("distill-confirm", "data"),
    State("distill-method-info", "data"),
    State("distill-teacher-info", "data"),
    prevent_initial_call=True,
)
async def distill_start(
    _go, teacher, student, methods, seeds, epochs, lam, beta, rho, train_size, asked, infos, facts
):
    if not teacher:
        return message("Choose a teacher run (make one in the Runs tab).", "error"), None
    student = student or (facts or {}).get("student")  # clicked before the list filled
    if not student:
        return message("Choose a student architecture.", "error"), None
    if not methods:
        return message("Choose at least one method.", "error"), None
    knowledge = [m for m in methods if (infos or {}).get(m, {}).get("reads_knowledge")]
    relation = [m for m in methods if takes_beta_rho((infos or {}).get(m, {}))]
    settings = {"lam": (lam, knowledge), "beta": (beta, relation), "rho": (rho, relation)}
    checks = [(SEEDS, seeds), (EPOCHS, epochs)]
    for key, rng in (("lam", LAMBDA), ("beta", BETA), ("rho", RHO)):
        value, takers = settings[key]
        if takers and value not in (None, ""):
            checks.append((rng, value))
    if refused := problems(checks):
        return message("Not started: " + " ".join(refused), "error"), None
    configs = job_configs(teacher, student, methods, seeds, epochs, train_size, settings)
    try:
        health = await api_client.get("/api/health")
        images = train_size or (facts or {}).get("train_images")
        p = plan(methods, seeds, epochs, images, health["job_slots"])
    except ApiError:
        p = None
    if p is not None:
        first = [c for c in configs if c["seed"] == 0]  # the seeds of a method cost alike
        p = await costed(p, first, seeds, health["job_slots"])
    if p is not None and needs_confirm(p) and asked != configs:
        longest = p.get("longest")
        longest = (
            f"; the longest is estimated at {longest['words']} ({longest['basis']})"
            if longest
            else ""
        )
        text = (
            f"This starts {count(p['jobs'], 'job')}, about {duration(p['seconds'])} in all"
            f"{longest}. Press Start jobs again to start them."
        )
        return message(text, "warning"), configs
    started = []
    for config in configs:
        try:
            started.append((await api_client.submit_job("distill", config))["id"])
        except ApiError as err:
            done = f" ({len(started)} started before)" if started else ""
            text = await error_text(err, "Starting jobs", LABELS)
            return message(f"Not started{done}: {text}", "error"), None
    return message(f"Started {count(len(started), 'job')}: {', '.join(map(str, started))}."), None
